import { useApp } from "../../AppContext";
import { useNodeEmission } from "../../hooks/useRegistry";
import { Loaded } from "../../components/Status";
import { Stat } from "../../components/Stat";
import { formatToken, shortAddress } from "../../lib/format";

/** Node operators' half of emission, from the Emission contract. */
export function EmissionSection() {
  const { deployment } = useApp();
  const rewards = useNodeEmission();
  return (
    <Loaded state={rewards} what="node rewards">
      {(r) => (
        <dl className="stats">
          <Stat label="Node rewards emitted to date" value={formatToken(r.due, "FLK", 18, 2)} testId="node-emission" />
          <Stat
            label="Paid to"
            value={
              r.recipient.toLowerCase() === deployment.contracts.rewards.toLowerCase() ? "the epoch rewards pool (EpochRewards)" : shortAddress(r.recipient)
            }
            testId="node-recipient"
          />
        </dl>
      )}
    </Loaded>
  );
}
