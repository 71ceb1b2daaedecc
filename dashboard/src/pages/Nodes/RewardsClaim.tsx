import { useUnclaimedRewards } from "../../hooks/useRegistry";
import { useTransaction } from "../../lib/useTransaction";
import type { Suite } from "../../lib/contracts";
import { Loaded } from "../../components/Status";
import { TxStatus } from "../../components/TxStatus";
import type { NodeInfo } from "../../data/source";
import { formatToken, formatUsdc } from "../../lib/format";

/**
 * The account's unclaimed rewards over all its nodes, and one Claim for all of them: an owner has
 * one leaf per epoch, so each unclaimed epoch takes one proof (from any of its nodes) in `claimMany`.
 */
export function RewardsClaim({ nodes, writer, onDone }: { nodes: NodeInfo[]; writer: Suite; onDone: () => void }) {
  const unclaimed = useUnclaimedRewards(nodes);
  const tx = useTransaction(onDone);
  return (
    <section aria-labelledby="rewards-h">
      <h2 id="rewards-h">Your rewards</h2>
      <Loaded state={unclaimed} what="your unclaimed rewards">
        {(proofs) => {
          const flk = proofs.reduce((sum, p) => sum + p.flkAmount, 0n);
          const usdc = proofs.reduce((sum, p) => sum + p.usdcAmount, 0n);
          const claims = proofs.map((p) => ({ epoch: p.epoch, account: p.account, flkWeight: p.flkWeight, usdcWeight: p.usdcWeight, proof: p.proof }));
          return (
            <div className="card">
              <p data-testid="unclaimed">
                {proofs.length === 0 ? "Nothing to claim." : `Unclaimed: epoch${proofs.length > 1 ? "s" : ""} ${proofs.map((p) => p.epoch).join(", ")}.`}
              </p>
              <div className="actions">
                <button
                  type="button"
                  disabled={tx.busy || proofs.length === 0}
                  onClick={() => tx.run((send) => send("Claim rewards", () => writer.rewards.claimMany(claims)))}
                >
                  {proofs.length === 0 ? "Nothing to claim" : `Claim ${formatToken(flk)} and ${formatUsdc(usdc)}`}
                </button>
              </div>
              <TxStatus state={tx.state} />
            </div>
          );
        }}
      </Loaded>
    </section>
  );
}
