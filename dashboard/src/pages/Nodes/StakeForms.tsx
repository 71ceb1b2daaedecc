import { useInputTransaction, useTransaction, type SendStep } from "../../lib/useTransaction";
import type { Suite } from "../../lib/contracts";
import { TxStatus } from "../../components/TxStatus";
import { TextField } from "../../components/TextField";
import { AmountField, readAmount } from "../../components/AmountField";
import type { NodeInfo } from "../../data/source";
import { formatToken } from "../../lib/format";
import { UNSTAKE_DELAY_EPOCHS, parseLockEpochs } from "../../lib/nodes";
import { ApprovalSteps } from "../../components/ApprovalSteps";
import { useAllowance } from "../../hooks/useAllowance";

/** Sends `approve` for the registry only when the allowance falls short: exact, never unlimited. */
export async function approveRegistry(writer: Suite, account: string, amount: bigint, send: SendStep) {
  const spender = await writer.registry.getAddress();
  if ((await writer.flk.allowance(account, spender)) < amount) await send("Approve FLK", () => writer.flk.approve(spender, amount));
}

/** Adds FLK to a node's stake (approval first when needed). */
export function AddStakeForm({ node, writer, account, onDone }: { node: NodeInfo; writer: Suite; account: string; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const amount = readAmount(text).value;
  const allowance = useAllowance("flk", account, "registry");
  const add = () =>
    tx.run(async (send) => {
      await approveRegistry(writer, account, amount!, send);
      await send("Add stake", () => writer.registry.addStake(node.id, amount!));
    });
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Add stake to node ${node.id}`}>
      <p>
        Stake: {formatToken(node.stake)}, status {node.status}.
      </p>
      <AmountField label="Add stake" value={text} onChange={setText} />
      <ApprovalSteps
        approve="Approve FLK"
        action="Add stake"
        amount={amount}
        allowance={allowance.data}
        state={tx.state}
        approveText={`Approve ${formatToken(amount ?? 0n)} for the node registry`}
        actionText={`Add ${formatToken(amount ?? 0n)} to node ${node.id}`}
      />
      <div className="actions">
        <button type="submit" disabled={tx.busy || amount === undefined || amount === 0n} onClick={add}>
          Add stake
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Extends a node's stake lock by a number of epochs (for a reward boost). */
export function LockStakeForm({ node, writer, maxEpochs, onDone }: { node: NodeInfo; writer: Suite; maxEpochs: number; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const epochs = parseLockEpochs(text, maxEpochs);
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Lock the stake of node ${node.id}`}>
      <p>{node.lockedUntil === 0n ? "The stake is not locked." : `The stake is locked until epoch ${node.lockedUntil}.`}</p>
      <TextField label="Lock for more epochs" inputMode="numeric" value={text} onChange={setText} error={epochs.error} />
      <div className="actions">
        <button
          type="submit"
          disabled={tx.busy || epochs.value === undefined}
          onClick={() => tx.run((send) => send("Lock stake", () => writer.registry.lockStake(node.id, epochs.value!)))}
        >
          Lock stake
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Moves part of a node's stake to unstaking; refused in the form while the stake is locked. */
export function UnstakeForm({ node, writer, epoch, onDone }: { node: NodeInfo; writer: Suite; epoch: bigint; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const amount = readAmount(text).value;
  const locked = node.lockedUntil > epoch;
  const overStake = (value: bigint) => (value > node.stake ? `The node's stake is ${formatToken(node.stake)}.` : undefined);
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Unstake from node ${node.id}`}>
      <p data-testid="unstake-note">
        {locked
          ? `The stake is locked until epoch ${node.lockedUntil}: it can be unstaked from then.`
          : `Unstaked FLK is withdrawable ${UNSTAKE_DELAY_EPOCHS} epochs later (a new unstake restarts the delay); a node left below the minimum stake leaves the active set at the next epoch change.`}
      </p>
      <AmountField label="Unstake" value={text} onChange={setText} max={node.stake} check={overStake} />
      <div className="actions">
        <button
          type="submit"
          disabled={tx.busy || amount === undefined || amount === 0n || !!overStake(amount)}
          onClick={() => tx.run((send) => send("Unstake", () => writer.registry.unstake(node.id, amount!)))}
        >
          Unstake
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Pays out a node's unstaked FLK once its delay has passed. */
export function WithdrawForm({ node, writer, epoch, onDone }: { node: NodeInfo; writer: Suite; epoch: bigint; onDone: () => void }) {
  const tx = useTransaction(onDone);
  if (node.unstaking === 0n && tx.state.status === "idle") return null;
  const ready = node.unstaking > 0n && node.unstakeReadyAt <= epoch;
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Withdraw from node ${node.id}`}>
      <p data-testid="unstaking">
        {node.unstaking === 0n
          ? "Nothing is unstaking."
          : `Unstaking: ${formatToken(node.unstaking)}, ${ready ? "withdrawable now" : `withdrawable from epoch ${node.unstakeReadyAt} (this is epoch ${epoch})`}.`}
      </p>
      <div className="actions">
        <button
          type="submit"
          disabled={tx.busy || node.unstaking === 0n}
          onClick={() => tx.run((send) => send("Withdraw", () => writer.registry.withdraw(node.id)))}
        >
          Withdraw {formatToken(node.unstaking)}
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Queues a jailed or exited node for the next epoch change (it needs the minimum stake). */
export function RejoinForm({ node, writer, minimumStake, onDone }: { node: NodeInfo; writer: Suite; minimumStake: bigint; onDone: () => void }) {
  const tx = useTransaction(onDone);
  const out = node.status === "jailed" || node.status === "exited";
  if (!out && tx.state.status === "idle") return null;
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Rejoin with node ${node.id}`}>
      <p>
        {out
          ? `The node is ${node.status}. Rejoining queues it for the next epoch change${node.stake < minimumStake ? `; first add stake up to the minimum of ${formatToken(minimumStake)}` : ""}.`
          : `The node is ${node.status}.`}
      </p>
      <div className="actions">
        <button type="submit" disabled={tx.busy || !out} onClick={() => tx.run((send) => send("Rejoin", () => writer.registry.rejoin(node.id)))}>
          Rejoin
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}
