/**
 * Committee selection exactly as NodeRegistry does it, so anyone can recompute a committee from
 * the registry's events (ActiveSetSelected, BeaconRevealed, CommitteeSelected).
 */
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";

/** Draw weight of a stake: whole FLK, at least 1 (`Selection.selectActiveSet`). */
export function drawWeight(stake: bigint): bigint {
  const w = stake / 10n ** 18n;
  return w === 0n ? 1n : w;
}

const abi = AbiCoder.defaultAbiCoder();

/** The commitment a member posts with `commitBeacon`: keccak256(abi.encode(epoch, nodeId, secret)). */
export function beaconCommitment(epoch: bigint, nodeId: number, secret: string): string {
  return keccak256(abi.encode(["uint64", "uint32", "bytes32"], [epoch, nodeId, secret]));
}

/** XOR of the revealed secrets: order-free, as `beaconMix(epoch)` accumulates them. */
export function beaconMix(secrets: readonly string[]): string {
  let mix = 0n;
  for (const s of secrets) mix ^= BigInt(s);
  return zeroPadValue(toBeHex(mix), 32);
}

/**
 * The draw seed for the committee that follows `epoch`: keccak256(abi.encode(epoch, mix)) over the
 * secrets revealed in `epoch`. Used only if every committed secret was revealed: otherwise there is
 * no draw (see {@link selectCommittee}).
 */
export function committeeSeed(epoch: bigint, revealedSecrets: readonly string[]): string {
  return keccak256(abi.encode(["uint64", "bytes32"], [epoch, beaconMix(revealedSecrets)]));
}

/**
 * Weighted sampling without replacement (`Selection.draw` in contracts/registry/Selection.sol):
 * draw k takes r = keccak256(abi.encode(seed, k)) mod the weight not yet drawn and picks the first
 * candidate, in pool order, whose cumulative remaining weight exceeds r.
 */
export function drawCommittee(pool: readonly number[], weights: readonly bigint[], size: number, seed: string): number[] {
  const w = [...weights];
  let total = w.reduce((a, b) => a + b, 0n);
  const members: number[] = [];
  for (let k = 0; k < size; k++) {
    let r = BigInt(keccak256(abi.encode(["bytes32", "uint256"], [seed, k]))) % total;
    let i = 0;
    while (r >= w[i]) r -= w[i++];
    members.push(pool[i]);
    total -= w[i];
    w[i] = 0n;
  }
  return members;
}

/**
 * The committee of the epoch after the pool's. If every committed secret was revealed: the pool (the
 * active set of the ending epoch with the weights of its ActiveSetSelected event), all of it if it
 * fits, otherwise the draw. If a reveal was withheld (`kept`: the ending committee): no draw, that
 * committee stays. Either way members no longer Active with the minimum stake at the change
 * (`eligible` false; withholders are jailed) leave their seat empty.
 */
export function selectCommittee(
  pool: readonly number[],
  weights: readonly bigint[],
  committeeSize: number,
  seed: string,
  eligible: (id: number) => boolean = () => true,
  kept?: readonly number[],
): number[] {
  const drawn = kept ? [...kept] : pool.length <= committeeSize ? [...pool] : drawCommittee(pool, weights, committeeSize, seed);
  return drawn.filter(eligible);
}

/** A candidate for the active set: the still-active nodes first, then the queue, in that order. */
export interface Candidate {
  id: number;
  stake: bigint;
  /** Drawn for the next committee: ranks before every other candidate. */
  member?: boolean;
}

/**
 * The active set from the candidates that hold at least the minimum stake: all of them in order
 * if at most `maxActive`, otherwise the top `maxActive` by stake (ties: the earlier candidate),
 * the next committee's members first, then in descending stake order (`Selection.selectActiveSet`).
 */
export function selectActiveSet(candidates: readonly Candidate[], minimumStake: bigint, maxActive = 100): number[] {
  const eligible = candidates.map((c, index) => ({ ...c, index })).filter((c) => c.stake >= minimumStake);
  if (eligible.length <= maxActive) return eligible.map((c) => c.id);
  const rank = (c: Candidate) => (c.member ? 1n << 100n : 0n) + c.stake;
  eligible.sort((x, y) => (rank(x) === rank(y) ? x.index - y.index : rank(x) > rank(y) ? -1 : 1));
  return eligible.slice(0, maxActive).map((c) => c.id);
}
