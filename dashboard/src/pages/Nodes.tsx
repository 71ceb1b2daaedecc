import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { formatToken, shortAddress } from "../lib/format";

/**
 * Node operators' half of emission, from the Emission contract. The registry views (nodes,
 * committees, reputation, registration, reward proofs) come next, with the indexer's `nodes`,
 * `epochs` and `rewardProof`.
 */
export default function Nodes() {
  const { suite, provider, deployment, version } = useApp();
  const rewards = useAsync(async () => {
    const block = await provider.getBlock("latest");
    const [due, recipient] = await Promise.all([suite.emission.nodeEmission(block?.timestamp ?? 0), suite.emission.nodeRecipient()]);
    return { due, recipient };
  }, [suite, version]);
  return (
    <>
      <h1>Nodes</h1>
      <Loaded state={rewards} what="node rewards">
        {(r) => (
          <dl className="stats">
            <Stat label="Node rewards emitted to date" value={formatToken(r.due, "FLK", 18, 2)} testId="node-emission" />
            <Stat
              label="Paid to"
              value={r.recipient.toLowerCase() === deployment.contracts.rewards.toLowerCase() ? "the epoch rewards pool (EpochRewards)" : shortAddress(r.recipient)}
              testId="node-recipient"
            />
          </dl>
        )}
      </Loaded>
      <p className="empty">
        Coming next on this page: the registry, the committee of the current epoch, reputation over epochs, node registration, stake locking and reward claims with
        proofs from the indexer.
      </p>
    </>
  );
}
