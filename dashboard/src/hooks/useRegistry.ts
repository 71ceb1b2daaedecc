/**
 * The node registry as the Nodes page shows it: nodes and the epoch from the indexer, falling
 * back to the chain when the indexer cannot answer, so operators keep their stake forms working.
 */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { describeError, statusName } from "../lib/revert";
import type { Suite } from "../lib/contracts";
import type { DashboardData, NodeInfo, NodeStatus } from "../data/source";

/** Nodes read per `getNodes` call when reading the registry from the chain. */
const CHAIN_BATCH = 200;
/** The most nodes read from the chain (the indexer's list is capped alike): a bound on the page's RPC calls. */
export const MAX_CHAIN_NODES = 1000;

/** A node as `NodeStaking.getNodes` returns it (the fields the page uses). */
interface NodeView {
  id: bigint;
  owner: string;
  nodeKey: string;
  signer: string;
  status: bigint;
  stake: bigint;
  lockedUntil: bigint;
  unstaking: bigint;
  unstakeReadyAt: bigint;
  endpoints: { host: string };
}

function fromView(n: NodeView): NodeInfo {
  return {
    id: Number(n.id),
    owner: n.owner,
    nodeKey: n.nodeKey,
    signer: n.signer,
    host: n.endpoints.host,
    status: statusName(n.status) as NodeStatus,
    stake: n.stake,
    unstaking: n.unstaking,
    unstakeReadyAt: n.unstakeReadyAt,
    lockedUntil: n.lockedUntil,
  };
}

/** Nodes and the current epoch from the chain: what the indexer would say, without its lag or its outages. */
async function chainNodes(suite: Suite) {
  const { registry } = suite;
  const count = Math.min(Number(await registry.nodeCount()), MAX_CHAIN_NODES);
  const batches: Promise<NodeView[]>[] = [];
  for (let first = 1; first <= count; first += CHAIN_BATCH) {
    const ids = Array.from({ length: Math.min(CHAIN_BATCH, count - first + 1) }, (_, i) => first + i);
    batches.push(registry.getNodes(ids) as unknown as Promise<NodeView[]>);
  }
  const [nodes, [number, start, duration, members]] = await Promise.all([Promise.all(batches).then((b) => b.flat().map(fromView)), registry.committee()]);
  return { nodes, epoch: { number, start, end: start + duration, committee: (members as unknown as NodeView[]).map((m) => Number(m.id)) } };
}

/**
 * Everything the Nodes page shows about the registry: parameters from the chain, nodes and epoch
 * from the indexer or, when it fails, from the chain with `stale` saying why.
 */
export async function readRegistry(suite: Suite, data: DashboardData) {
  const { registry } = suite;
  const indexed = Promise.all([data.nodes(), data.currentEpoch()]).then(([nodes, epoch]) => ({ nodes, epoch, stale: undefined as string | undefined }));
  const [minimumStake, maxLock, { nodes, epoch, stale }] = await Promise.all([
    registry.minimumStake(),
    registry.MAX_LOCK_EPOCHS(),
    indexed.catch(async (err) => ({ ...(await chainNodes(suite)), stale: describeError(err) })),
  ]);
  const members = epoch.committee.flatMap((id) => nodes.filter((n) => n.id === id));
  return { minimumStake, maxLockEpochs: Number(maxLock), epoch: epoch.number, start: epoch.start, end: epoch.end, members, nodes, stale };
}

export type RegistryData = Awaited<ReturnType<typeof readRegistry>>;

/** Nodes with a sparkline in the registry table, and its epochs. */
export const SPARKLINE_NODES = 100;
export const SPARKLINE_EPOCHS = 12;

/** The recent reputation of the first {@link SPARKLINE_NODES} nodes (indexer); undefined when it cannot answer. */
export function useRecentReputation() {
  const { data, version } = useApp();
  return useAsync(() => data.recentReputation(SPARKLINE_NODES, SPARKLINE_EPOCHS), [data, version]);
}

/** {@link readRegistry}, read again after every confirmed transaction. */
export function useRegistry() {
  const suite = useSuite();
  const { data, version } = useApp();
  return useAsync(() => readRegistry(suite, data), [suite, data, version]);
}

/** Node operators' half of emission to date and where it is paid, from the Emission contract. */
export function useNodeEmission() {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(async () => {
    const block = await provider.getBlock("latest");
    const [due, recipient] = await Promise.all([suite.emission.nodeEmission(block?.timestamp ?? 0), suite.emission.nodeRecipient()]);
    return { due, recipient };
  }, [suite, provider, version]);
}

/** Reputation and rewards of node `id` (indexer). */
export function useNodeHistory(id: number) {
  const { data, version } = useApp();
  return useAsync(() => data.nodeHistory(id), [data, version, id]);
}

/**
 * The account's unclaimed rewards over all its nodes with their proofs (indexer): an owner has one
 * leaf per epoch, so each unclaimed epoch takes one proof, from any of its nodes.
 */
export function useUnclaimedRewards(nodes: readonly NodeInfo[]) {
  const { data, version } = useApp();
  return useAsync(async () => {
    const histories = await Promise.all(nodes.map(async (n) => ({ id: n.id, history: await data.nodeHistory(n.id) })));
    const nodeOfEpoch = new Map<number, number>();
    for (const { id, history } of histories)
      for (const r of history?.rewards ?? [])
        if (!r.claimed && r.flkAmount !== null && (r.flkAmount > 0n || (r.usdcAmount ?? 0n) > 0n)) nodeOfEpoch.set(r.epoch, id);
    const proofs = await Promise.all([...nodeOfEpoch].map(([epoch, node]) => data.rewardProof(epoch, node)));
    return proofs.filter((p) => !p.claimed).sort((a, b) => a.epoch - b.epoch);
  }, [data, version, nodes.map((n) => n.id).join()]);
}
