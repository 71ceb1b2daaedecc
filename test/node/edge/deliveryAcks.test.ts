import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import {
  DELIVERY_ACK_BYTES,
  deliveryAckFromJson,
  deliveryAckToJson,
  encodeDeliveryAck,
  signDeliveryAck,
  verifyDeliveryAckSignature,
} from "../../../node/acks/deliveryAck";
import { DeliveryAckDesk, QueuedAckSink } from "../../../node/acks/deliveryAckDesk";
import { ed25519PrivateKeyFromSeed, rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";

const hash = "ab".repeat(32) as ContentHash;

function keyPair() {
  const { privateKey } = generateKeyPairSync("ed25519");
  return { privateKey, raw: rawEd25519PublicKey(privateKey) };
}

describe("edge: delivery acknowledgments", () => {
  const node = keyPair();
  const client = keyPair();
  let clock: number;
  let sink: QueuedAckSink;
  let desk: DeliveryAckDesk;
  beforeEach(() => {
    clock = 1_800_000_000_000;
    sink = new QueuedAckSink();
    desk = new DeliveryAckDesk({ nodeKey: node.raw, sink, now: () => clock, maxWindowMs: 60_000, clockSkewMs: 5_000, replayCapacity: 3 });
  });

  it("encodes canonically: fixed width, every field changes the bytes", () => {
    const ack = desk.draft(client.raw, hash, 4096);
    const bytes = encodeDeliveryAck(ack);
    expect(bytes.length).to.equal(DELIVERY_ACK_BYTES);
    for (const changed of [
      { ...ack, bytes: 4097 },
      { ...ack, windowEnd: ack.windowEnd + 1 },
      { ...ack, windowStart: ack.windowStart + 1 },
      { ...ack, contentHash: "cd".repeat(32) as ContentHash },
      { ...ack, nonce: Buffer.alloc(16) },
      { ...ack, nodeKey: client.raw, clientKey: node.raw },
    ]) {
      expect(encodeDeliveryAck(changed).equals(bytes)).to.equal(false);
    }
    expect(() => encodeDeliveryAck({ ...ack, bytes: -1 })).to.throw(/bytes/);
    expect(() => encodeDeliveryAck({ ...ack, nonce: Buffer.alloc(3) })).to.throw(/nonce/);
  });

  it("round-trips through JSON and keeps the signature valid; rejects malformed JSON", () => {
    const seeded = ed25519PrivateKeyFromSeed(Buffer.alloc(32, 7));
    const signed = signDeliveryAck(desk.draft(rawEd25519PublicKey(seeded), hash, 10), seeded);
    const parsed = deliveryAckFromJson(JSON.parse(JSON.stringify(deliveryAckToJson(signed))));
    expect(verifyDeliveryAckSignature(parsed)).to.equal(true);
    expect(() => deliveryAckFromJson({ ...deliveryAckToJson(signed), nonce: "zz" })).to.throw(/nonce/);
    expect(() => deliveryAckFromJson({ ...deliveryAckToJson(signed), bytes: 1.5 })).to.throw(/bytes/);
  });

  it("accepts a genuine ack once and hands it to the sink", () => {
    const signed = signDeliveryAck(desk.draft(client.raw, hash, 4096), client.privateKey);
    expect(desk.accept(signed)).to.equal(undefined);
    expect(sink.drain()).to.deep.equal([signed]);
    expect(desk.accept(signed)).to.equal("replay");
    expect(sink.drain()).to.deep.equal([]);
  });

  it("rejects forged acks: altered fields, someone else's signature, wrong node", () => {
    const signed = signDeliveryAck(desk.draft(client.raw, hash, 4096), client.privateKey);
    expect(desk.accept({ ...signed, ack: { ...signed.ack, bytes: 1_000_000 } })).to.equal("bad-signature");
    const mallory = keyPair();
    expect(desk.accept(signDeliveryAck(signed.ack, mallory.privateKey))).to.equal("bad-signature");
    expect(desk.accept({ ...signed, signature: Buffer.alloc(64) })).to.equal("bad-signature");
    const otherNode = signDeliveryAck({ ...desk.draft(client.raw, hash, 1), nodeKey: mallory.raw }, client.privateKey);
    expect(desk.accept(otherNode)).to.equal("wrong-node");
    // The forgeries did not burn the genuine ack's nonce.
    expect(desk.accept(signed)).to.equal(undefined);
    expect(sink.drain().length).to.equal(1);
  });

  it("rejects acks outside their window or with windows too long, and forgets old nonces", () => {
    const draft = desk.draft(client.raw, hash, 1);
    expect(desk.accept(signDeliveryAck({ ...draft, windowEnd: draft.windowStart + 120_000 }, client.privateKey))).to.equal("bad-window");
    expect(desk.accept(signDeliveryAck({ ...draft, windowEnd: draft.windowStart }, client.privateKey))).to.equal("bad-window");
    const signed = signDeliveryAck(draft, client.privateKey);
    clock += 60_000 + 5_001;
    expect(desk.accept(signed)).to.equal("expired");
    clock -= 60_000 + 5_001 + 5_001 + 1;
    expect(desk.accept(signed)).to.equal("expired"); // from the future
  });

  it("refuses new acks when its replay memory is full rather than forgetting live ones", () => {
    const accepted = Array.from({ length: 3 }, () => signDeliveryAck(desk.draft(client.raw, hash, 1), client.privateKey));
    for (const signed of accepted) expect(desk.accept(signed)).to.equal(undefined);
    const late = signDeliveryAck(desk.draft(client.raw, hash, 1), client.privateKey);
    expect(desk.accept(late)).to.equal("busy");
    expect(desk.accept(accepted[0])).to.equal("replay");
    clock += 60_000 + 5_001; // the first three can no longer be accepted, so they are forgotten
    const fresh = signDeliveryAck(desk.draft(client.raw, hash, 1), client.privateKey);
    expect(desk.accept(fresh)).to.equal(undefined);
  });
});
