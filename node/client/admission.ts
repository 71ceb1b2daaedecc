/**
 * Admission of transactions submitted by clients (docs/consensus.md "Client admission"), cheapest
 * checks first so that a hostile request costs little: the number of transactions, their sizes,
 * duplicates, the node's capacity, and only then the signatures, on worker threads.
 *
 * Requests are checked as they arrive and verified concurrently; the bytes under verification are
 * reserved against the worker's room, so concurrent requests cannot all pass the capacity check
 * and then be refused after their signatures were paid for.
 */
import { SIGNATURE_LEN } from "../consensus/types/crypto";
import { hex } from "../consensus/types/messages";
import { SubmitResult, SubmitStatus } from "./protocol";
import { SignatureVerifier } from "./signatureVerifier";
import { checkTransactionShape, ENVELOPE, TxRules } from "./transaction";

/** The node as admission sees it. */
export interface AdmissionTarget {
  /** Bytes of transactions the node takes now (0 when saturated); undefined when not a member. */
  room(): number | undefined;
  /** Adds transactions already checked, in order; returns how many it took. */
  addChecked(txs: Buffer[]): number;
}

/** Most transactions in one Submit request. */
export const MAX_TXS_PER_REQUEST = 10_000;

/** Checks and forwards client submissions. */
export class SubmitAdmission {
  /** Bytes of transactions being verified, not yet handed to the worker. */
  private reserved = 0;

  constructor(
    private readonly target: AdmissionTarget,
    private readonly rules: TxRules,
    private readonly verifier: SignatureVerifier,
  ) {}

  /**
   * Admits `txs` in order until the first refusal. Duplicates within the request are dropped
   * (and counted as accepted: they are already in). `accepted` counts request entries taken.
   * The checks up to capacity run at once; the transactions go to the worker after `before`
   * settles (the previous request of the same connection, so that its order is kept).
   */
  async admit(txs: Buffer[], before?: Promise<unknown>): Promise<SubmitResult> {
    if (txs.length > MAX_TXS_PER_REQUEST) {
      return { accepted: 0, status: SubmitStatus.Invalid, reason: `request of ${txs.length} transactions above the limit of ${MAX_TXS_PER_REQUEST}` };
    }
    const free = this.target.room();
    if (free === undefined) return { accepted: 0, status: SubmitStatus.Unavailable, reason: "not in the current committee" };
    const room = free - this.reserved;
    // Walk the request: stop at the first malformed transaction or where capacity ends.
    const seen = new Map<string, Buffer>();
    const unique: { tx: Buffer; end: number }[] = [];
    let bytes = 0;
    let stop: SubmitResult | undefined;
    let duplicates = 0;
    for (let i = 0; i < txs.length && !stop; i++) {
      const tx = txs[i];
      const bad = checkTransactionShape(tx, this.rules);
      if (bad) {
        stop = { accepted: i, status: SubmitStatus.Invalid, reason: `transaction ${i}: ${bad}` };
        break;
      }
      // The signature identifies a transaction but for a forgery reusing it: compare the bytes.
      const key = hex(tx.subarray(ENVELOPE - SIGNATURE_LEN, ENVELOPE));
      const same = seen.get(key);
      if (same?.equals(tx)) {
        duplicates++;
        if (unique.length > 0) unique[unique.length - 1].end = i + 1;
        continue;
      }
      if (bytes + tx.length > room) {
        stop = { accepted: i, status: SubmitStatus.Busy, reason: "node saturated, retry" };
        break;
      }
      seen.set(key, tx);
      bytes += tx.length;
      unique.push({ tx, end: i + 1 });
    }
    let taken = unique;
    this.reserved += bytes;
    try {
      if (this.rules.verifySignatures && unique.length > 0) {
        const ok = await this.verifier.verify(unique.map((u) => u.tx));
        const firstBad = ok.indexOf(false);
        if (firstBad >= 0) {
          taken = unique.slice(0, firstBad);
          const index = firstBad === 0 ? 0 : unique[firstBad - 1].end;
          stop = { accepted: index, status: SubmitStatus.Invalid, reason: `transaction ${index}: bad transaction signature` };
        }
      }
      await before;
    } finally {
      this.reserved -= bytes;
    }
    const added = this.target.addChecked(taken.map((u) => u.tx));
    if (added < taken.length) {
      return { accepted: added === 0 ? 0 : taken[added - 1].end, status: SubmitStatus.Busy, reason: "node saturated, retry" };
    }
    if (stop) return stop;
    return { accepted: txs.length, status: SubmitStatus.Ok, reason: duplicates > 0 ? `${duplicates} duplicate transactions dropped` : "" };
  }
}
