import { useMemo, useState } from "react";
import type { JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useInputTransaction, useTransaction, type SendStep } from "../lib/useTransaction";
import { connectSuite, type Suite } from "../lib/contracts";
import { useSuite, useReadProvider } from "../lib/useChain";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { TxStatus } from "../components/TxStatus";
import { TextField } from "../components/TextField";
import { AmountField, readAmount } from "../components/AmountField";
import { RequireWallet } from "../components/RequireWallet";
import { LineChart } from "../components/LineChart";
import { Table } from "../components/Table";
import type { DashboardData, NodeInfo } from "../data/source";
import { formatDateTime, formatToken, shortAddress } from "../lib/format";
import { DEFAULT_PORTS, PORT_NAMES, UNSTAKE_DELAY_EPOCHS, parseHost, parseLockEpochs, parseNodeKey, parsePort, parseSigner, shortKey, type PortName } from "../lib/nodes";

/**
 * The node registry: node operators' emission, the committee of the current epoch, every
 * registered node, and for the connected wallet node registration, stake top-ups and stake locks.
 */
export default function Nodes() {
  const suite = useSuite();
  const { data, version } = useApp();
  const registry = useAsync(() => readRegistry(suite, data), [suite, data, version]);
  return (
    <>
      <h1>Nodes</h1>
      <EmissionSection />
      <Loaded state={registry} what="the node registry">
        {(r) => (
          <>
            <CommitteeSection data={r} />
            <NodesTable nodes={r.nodes} />
            <RequireWallet action="register a node or manage your node's stake">{(signer, account) => <OperatorSection data={r} signer={signer} account={account} />}</RequireWallet>
          </>
        )}
      </Loaded>
    </>
  );
}

/** Everything the page shows about the registry, in one batch: nodes and the epoch from the indexer, the parameters from the chain. */
async function readRegistry(suite: Suite, data: DashboardData) {
  const { registry } = suite;
  const [minimumStake, maxLock, nodes, epoch] = await Promise.all([registry.minimumStake(), registry.MAX_LOCK_EPOCHS(), data.nodes(), data.currentEpoch()]);
  const members = epoch.committee.flatMap((id) => nodes.filter((n) => n.id === id));
  return { minimumStake, maxLockEpochs: Number(maxLock), epoch: epoch.number, start: epoch.start, end: epoch.end, members, nodes };
}

type RegistryData = Awaited<ReturnType<typeof readRegistry>>;

/** Node operators' half of emission, from the Emission contract. */
function EmissionSection() {
  const suite = useSuite();
  const provider = useReadProvider();
  const { deployment, version } = useApp();
  const rewards = useAsync(async () => {
    const block = await provider.getBlock("latest");
    const [due, recipient] = await Promise.all([suite.emission.nodeEmission(block?.timestamp ?? 0), suite.emission.nodeRecipient()]);
    return { due, recipient };
  }, [suite, version]);
  return (
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
  );
}

/** The current epoch's number, bounds and committee members. */
function CommitteeSection({ data }: { data: RegistryData }) {
  return (
    <section aria-labelledby="committee-h">
      <h2 id="committee-h">Committee of epoch {data.epoch.toString()}</h2>
      <dl className="stats">
        <Stat label="Epoch" value={data.epoch.toString()} testId="epoch" />
        <Stat label="Started" value={formatDateTime(data.start)} testId="epoch-start" />
        <Stat label="Ends" value={formatDateTime(data.end)} testId="epoch-end" />
        <Stat label="Minimum stake" value={formatToken(data.minimumStake)} testId="minimum-stake" />
      </dl>
      {data.members.length === 0 ? (
        <p className="empty" data-testid="committee-empty">
          No committee this epoch: registered nodes join the active set at the next epoch change.
        </p>
      ) : (
        <ul aria-label="Committee members" data-testid="committee">
          {data.members.map((m) => (
            <li key={m.id}>
              Node {m.id} ({m.host}), signer {shortAddress(m.signer)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Every registered node with its status, stake and lock. */
function NodesTable({ nodes }: { nodes: NodeInfo[] }) {
  return (
    <section aria-labelledby="nodes-h">
      <h2 id="nodes-h">Registry</h2>
      <Table columns={["Node", "Key", "Host", "Owner", "Status", "Stake", "Locked until epoch"]} rows={nodes} empty="No node is registered yet." testId="nodes">
        {(n) => (
          <tr key={n.id} data-testid={`node-${n.id}`}>
            <th scope="row">{n.id}</th>
            <td title={n.nodeKey}>{shortKey(n.nodeKey)}</td>
            <td>{n.host}</td>
            <td title={n.owner}>{shortAddress(n.owner)}</td>
            <td data-testid="node-status">{n.status}</td>
            <td>{formatToken(n.stake)}</td>
            <td>{n.lockedUntil === 0n ? "not locked" : n.lockedUntil.toString()}</td>
          </tr>
        )}
      </Table>
    </section>
  );
}

/** The connected wallet's nodes (stake and lock forms) and the registration form. */
function OperatorSection({ data, signer, account }: { data: RegistryData; signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  const own = data.nodes.filter((n) => n.owner.toLowerCase() === account.toLowerCase());
  return (
    <>
      {own.map((n) => (
        <section key={n.id} aria-labelledby={`own-${n.id}-h`}>
          <h2 id={`own-${n.id}-h`}>Your node {n.id}</h2>
          <AddStakeForm node={n} writer={writer} account={account} onDone={refresh} />
          <LockStakeForm node={n} writer={writer} maxEpochs={data.maxLockEpochs} onDone={refresh} />
          <UnstakeForm node={n} writer={writer} epoch={data.epoch} onDone={refresh} />
          <WithdrawForm node={n} writer={writer} epoch={data.epoch} onDone={refresh} />
          <RejoinForm node={n} writer={writer} minimumStake={data.minimumStake} onDone={refresh} />
          <NodeHistorySection node={n} />
        </section>
      ))}
      {own.length > 0 && <RewardsClaim nodes={own} writer={writer} onDone={refresh} />}
      <RegisterForm writer={writer} account={account} minimumStake={data.minimumStake} onDone={refresh} />
    </>
  );
}

/** Sends `approve` for the registry only when the allowance falls short: exact, never unlimited. */
async function approveRegistry(writer: Suite, account: string, amount: bigint, send: SendStep) {
  const spender = await writer.registry.getAddress();
  if ((await writer.flk.allowance(account, spender)) < amount) await send("Approve FLK", () => writer.flk.approve(spender, amount));
}

/** Registers a node: key, signer, host and six ports, and a stake of at least the minimum. */
function RegisterForm({ writer, account, minimumStake, onDone }: { writer: Suite; account: string; minimumStake: bigint; onDone: () => void }) {
  const [key, setKey] = useState("");
  const [signer, setSigner] = useState("");
  const [host, setHost] = useState("");
  const [ports, setPorts] = useState(DEFAULT_PORTS);
  const [stake, setStake] = useState("");
  const tx = useTransaction(() => {
    setKey("");
    setSigner("");
    setHost("");
    setStake("");
    onDone();
  });

  const parsed = { key: parseNodeKey(key), signer: parseSigner(signer), host: parseHost(host) };
  const portParses = PORT_NAMES.map((name) => [name, parsePort(ports[name])] as const);
  const amount = readAmount(stake);
  const belowMinimum = (value: bigint) => (value < minimumStake ? `A node needs at least ${formatToken(minimumStake)}.` : undefined);
  const valid =
    Object.values(parsed).every((p) => p.value !== undefined) && portParses.every(([, p]) => p.value !== undefined) && amount.value !== undefined && !belowMinimum(amount.value);

  const register = () =>
    tx.run(async (send) => {
      const endpoints = { host: parsed.host.value!, ports: Object.fromEntries(portParses.map(([name, p]) => [name, p.value!])) as Record<PortName, number> };
      await approveRegistry(writer, account, amount.value!, send);
      await send("Register node", () => writer.registry.register(parsed.key.value!, parsed.signer.value!, endpoints, amount.value!));
    });

  return (
    <section aria-labelledby="register-h">
      <h2 id="register-h">Register a node</h2>
      <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Register a node">
        <TextField label="Node key (ed25519 public key, 32 bytes hex)" value={key} onChange={setKey} error={parsed.key.error} placeholder="0x…" testId="node-key" />
        <TextField label="Signer address (signs epoch reports)" value={signer} onChange={setSigner} error={parsed.signer.error} placeholder="0x…" testId="node-signer" />
        <TextField label="Host" value={host} onChange={setHost} error={parsed.host.error} placeholder="node.example.org" testId="node-host" />
        <fieldset className="field-row">
          <legend>Ports</legend>
          {portParses.map(([name, p]) => (
            <TextField key={name} label={`${name} port`} inputMode="numeric" value={ports[name]} onChange={(v) => setPorts({ ...ports, [name]: v })} error={p.error} />
          ))}
        </fieldset>
        <AmountField label={`Stake (at least ${formatToken(minimumStake)})`} value={stake} onChange={setStake} check={belowMinimum} />
        <div className="actions">
          <button type="submit" disabled={tx.busy || !valid} onClick={register}>
            Approve and register
          </button>
        </div>
      </form>
      <TxStatus state={tx.state} />
    </section>
  );
}

/** Adds FLK to a node's stake (approval first when needed). */
function AddStakeForm({ node, writer, account, onDone }: { node: NodeInfo; writer: Suite; account: string; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const amount = readAmount(text).value;
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
function LockStakeForm({ node, writer, maxEpochs, onDone }: { node: NodeInfo; writer: Suite; maxEpochs: number; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const epochs = parseLockEpochs(text, maxEpochs);
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Lock the stake of node ${node.id}`}>
      <p>{node.lockedUntil === 0n ? "The stake is not locked." : `The stake is locked until epoch ${node.lockedUntil}.`}</p>
      <TextField label="Lock for more epochs" inputMode="numeric" value={text} onChange={setText} error={epochs.error} />
      <div className="actions">
        <button type="submit" disabled={tx.busy || epochs.value === undefined} onClick={() => tx.run((send) => send("Lock stake", () => writer.registry.lockStake(node.id, epochs.value!)))}>
          Lock stake
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Moves part of a node's stake to unstaking; refused in the form while the stake is locked. */
function UnstakeForm({ node, writer, epoch, onDone }: { node: NodeInfo; writer: Suite; epoch: bigint; onDone: () => void }) {
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
function WithdrawForm({ node, writer, epoch, onDone }: { node: NodeInfo; writer: Suite; epoch: bigint; onDone: () => void }) {
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
        <button type="submit" disabled={tx.busy || node.unstaking === 0n} onClick={() => tx.run((send) => send("Withdraw", () => writer.registry.withdraw(node.id)))}>
          Withdraw {formatToken(node.unstaking)}
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Queues a jailed or exited node for the next epoch change (it needs the minimum stake). */
function RejoinForm({ node, writer, minimumStake, onDone }: { node: NodeInfo; writer: Suite; minimumStake: bigint; onDone: () => void }) {
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

/** A node's reputation over epochs (chart) and its part of each reported epoch's rewards. */
function NodeHistorySection({ node }: { node: NodeInfo }) {
  const { data, version } = useApp();
  const history = useAsync(() => data.nodeHistory(node.id), [data, version, node.id]);
  return (
    <Loaded state={history} what={`node ${node.id}'s reputation and rewards`}>
      {(h) =>
        !h ? (
          <p className="empty">The indexer has not seen node {node.id} yet.</p>
        ) : (
          <>
            <h3>Reputation</h3>
            {h.reputation.length === 0 ? (
              <p className="empty" data-testid="reputation-empty">
                No reputation yet: scores come with the committee's epoch reports.
              </p>
            ) : (
              <LineChart
                label={`Reputation of node ${node.id} over epochs, 0 to 100`}
                series={[{ name: "Reputation (by epoch)", color: "#8b5cf6", points: h.reputation.map((p) => [p.epoch, p.score]) }]}
                // Ticks fall between epochs when there are few: label only whole epochs.
                formatX={(x) => (Number.isInteger(x) ? String(x) : "")}
                formatY={(y) => Math.round(y).toString()}
              />
            )}
            <h3>Rewards</h3>
            <Table columns={["Epoch", "FLK", "USDC", "Claimed"]} rows={h.rewards} empty="No rewards yet: each epoch report pays the nodes that served.">
              {(r) => (
                <tr key={r.epoch} data-testid="reward-row">
                  <th scope="row">{r.epoch}</th>
                  <td>{r.flkAmount === null ? "not settled" : formatToken(r.flkAmount)}</td>
                  <td>{r.usdcAmount === null ? "not settled" : formatToken(r.usdcAmount, "USDC", USDC_DECIMALS, 2)}</td>
                  <td>{r.claimed ? "yes" : "no"}</td>
                </tr>
              )}
            </Table>
          </>
        )
      }
    </Loaded>
  );
}

/** USDC has 6 decimals. */
const USDC_DECIMALS = 6;

/**
 * The account's unclaimed rewards over all its nodes, and one Claim for all of them: an owner has
 * one leaf per epoch, so each unclaimed epoch takes one proof (from any of its nodes) in `claimMany`.
 */
function RewardsClaim({ nodes, writer, onDone }: { nodes: NodeInfo[]; writer: Suite; onDone: () => void }) {
  const { data, version } = useApp();
  const unclaimed = useAsync(async () => {
    const histories = await Promise.all(nodes.map(async (n) => ({ id: n.id, history: await data.nodeHistory(n.id) })));
    const nodeOfEpoch = new Map<number, number>();
    for (const { id, history } of histories)
      for (const r of history?.rewards ?? []) if (!r.claimed && r.flkAmount !== null && (r.flkAmount > 0n || (r.usdcAmount ?? 0n) > 0n)) nodeOfEpoch.set(r.epoch, id);
    const proofs = await Promise.all([...nodeOfEpoch].map(([epoch, node]) => data.rewardProof(epoch, node)));
    return proofs.filter((p) => !p.claimed).sort((a, b) => a.epoch - b.epoch);
  }, [data, version, nodes.map((n) => n.id).join()]);
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
                <button type="button" disabled={tx.busy || proofs.length === 0} onClick={() => tx.run((send) => send("Claim rewards", () => writer.rewards.claimMany(claims)))}>
                  {proofs.length === 0 ? "Nothing to claim" : `Claim ${formatToken(flk)} and ${formatToken(usdc, "USDC", USDC_DECIMALS, 2)}`}
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
