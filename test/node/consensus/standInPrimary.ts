/**
 * Node 0's primary for the tests that drive it message by message: a real store and real
 * signatures, a stand-in network (what node 0 sends or broadcasts goes to `sent`; `deliver` hands
 * it a peer's frame) and a stand-in worker. Headers wait for a batch (`headerBatches` 1) and
 * nothing is resent or retried on a timer during a test. `onCertificate` (set before the stored
 * certificates are recovered) sees each certificate accepted, as consensus does.
 */
import { Primary } from "../../../node/consensus/primary/primary";
import type { Committee } from "../../../node/consensus/types/committee";
import type { KeyPair } from "../../../node/consensus/types/crypto";
import type { Certificate, Digest } from "../../../node/consensus/types/messages";
import { decodePrimary, type PrimaryMessage } from "../../../node/consensus/types/wire";
import type { PeerNetwork } from "../../../node/network/peerNetwork";
import type { ConsensusStore } from "../../../node/storage/consensusStore";
import type { Worker } from "../../../node/consensus/worker/worker";
import { Logger } from "../../../node/logger";

/** Node 0's primary on `store`; `sent` sees each message it sends or broadcasts. */
export function standInPrimary(
  committee: Committee,
  keys: KeyPair[],
  store: ConsensusStore,
  gcDepth: number,
  sent: (m: PrimaryMessage) => void,
  onCertificate: (c: Certificate, primary: Primary) => void = () => {},
  /** Header delay (ms); 60 s: headers wait for a batch. */
  maxHeaderDelayMs = 60_000,
): { primary: Primary; deliver: (from: number, frame: Buffer) => void; batch: (d: Digest) => void } {
  let deliver: (from: number, frame: Buffer) => void = () => {};
  const network = {
    onFrame: (h: typeof deliver) => void (deliver = h),
    broadcast: (frame: Buffer) => sent(decodePrimary(frame)),
    send: (_to: number, frame: Buffer) => {
      sent(decodePrimary(frame));
      return true;
    },
    pending: () => 0,
  };
  const worker = { onOwnBatch: (_d: Digest) => {}, fetch: async () => true, setRounds: () => {} };
  const primary = new Primary({
    committee,
    me: 0,
    key: keys[0],
    network: network as unknown as PeerNetwork,
    store,
    worker: worker as unknown as Worker,
    logger: new Logger({}, 100),
    headerBatches: 1,
    maxHeaderBatches: 10,
    maxHeaderDelayMs,
    headerResendMs: 60_000,
    syncRetryMs: 60_000,
    maxFrame: 1 << 20,
    gcDepth,
  });
  primary.onCertificate = (c) => onCertificate(c, primary);
  primary.recover();
  return { primary, deliver: (from, frame) => deliver(from, frame), batch: (d) => worker.onOwnBatch(d) };
}
