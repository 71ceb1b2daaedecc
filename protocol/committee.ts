/**
 * Committee selection exactly as NodeRegistry does it, so anyone can recompute a committee from
 * the registry's events (ActiveSetSelected, BeaconRevealed, CommitteeSelected).
 */
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";

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

/** The shuffle seed for the committee that follows `epoch`: keccak256(abi.encode(epoch, mix)). */
export function committeeSeed(epoch: bigint, revealedSecrets: readonly string[]): string {
  return keccak256(abi.encode(["uint64", "bytes32"], [epoch, beaconMix(revealedSecrets)]));
}

/**
 * Partial Fisher-Yates: position i swaps with i + keccak256(abi.encode(seed, i)) mod (n - i);
 * the first `size` positions are the committee (`Selection.shuffle` in contracts/registry/Selection.sol).
 */
export function shuffle(ids: readonly number[], size: number, seed: string): number[] {
  const a = [...ids];
  const n = BigInt(a.length);
  for (let i = 0; i < size; i++) {
    const r = BigInt(keccak256(abi.encode(["bytes32", "uint256"], [seed, i])));
    const j = i + Number(r % (n - BigInt(i)));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, size);
}

/** The committee of the next epoch: the whole active set if it fits, otherwise the shuffle. */
export function selectCommittee(activeSet: readonly number[], committeeSize: number, seed: string): number[] {
  return activeSet.length <= committeeSize ? [...activeSet] : shuffle(activeSet, committeeSize, seed);
}

/** A candidate for the active set: the still-active nodes first, then the queue, in that order. */
export interface Candidate {
  id: number;
  stake: bigint;
}

/**
 * The active set from the candidates that hold at least the minimum stake: all of them in order
 * if at most `maxActive`, otherwise the top `maxActive` by stake (ties: the earlier candidate),
 * in descending stake order (`NodeRegistry._selectActiveSet`).
 */
export function selectActiveSet(candidates: readonly Candidate[], minimumStake: bigint, maxActive = 100): number[] {
  const eligible = candidates.map((c, index) => ({ ...c, index })).filter((c) => c.stake >= minimumStake);
  if (eligible.length <= maxActive) return eligible.map((c) => c.id);
  eligible.sort((x, y) => (x.stake === y.stake ? x.index - y.index : x.stake > y.stake ? -1 : 1));
  return eligible.slice(0, maxActive).map((c) => c.id);
}
