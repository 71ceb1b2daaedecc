import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { makeCertificate, signHeader } from "../../../node/consensus/types/messages";
import { decodePrimary, encodeCertificateReplies } from "../../../node/consensus/types/wire";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Committee } from "../../../node/consensus/types/committee";
import { frame, FrameDecoder, FrameTooLarge } from "../../../node/network/frame";
import { Handshake } from "../../../node/network/handshake";
import { PeerNetwork } from "../../../node/network/peerNetwork";
import { Logger } from "../../../node/logger";
import { testCommittee } from "./dagFixtures";
import { waitFor } from "./cluster";

describe("framing", () => {
  it("reassembles frames split at every byte boundary and packed together", () => {
    const payloads = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from("tail")];
    const stream = Buffer.concat(payloads.flatMap((p) => frame(p)));
    for (const step of [1, 3, 4096, stream.length]) {
      const d = new FrameDecoder(1 << 20);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      expect(out.map((b) => b.toString("hex"))).to.deep.equal(payloads.map((b) => b.toString("hex")));
    }
  });

  it("refuses a frame announced above the cap before buffering it", () => {
    const d = new FrameDecoder(100);
    expect(() => d.push(Buffer.from([101, 0, 0, 0]))).to.throw(FrameTooLarge);
  });
});

describe("catch-up replies", () => {
  it("split 1,000 certificates of a 100-member committee into frames under the cap, in order", () => {
    const { committee, keys } = testCommittee(100);
    const parents = Array.from({ length: 67 }, () => randomBytes(32));
    const certificates = Array.from({ length: 1_000 }, (_, i) => {
      const header = signHeader(
        { epoch: 1, round: 1 + (i >> 6), author: i % 100, createdAt: i, payload: [randomBytes(32)], parents },
        keys[i % 100],
        committee.domain,
      );
      return makeCertificate(
        header,
        Array.from({ length: 67 }, (_, voter) => ({ voter, signature: randomBytes(64) })),
      );
    });
    const maxFrame = committee.size * 10_000; // 1 MB: what one frame of all 1,000 (~6.8 MB) exceeds
    const frames = encodeCertificateReplies(certificates, maxFrame);
    expect(frames.length).to.be.greaterThan(6);
    for (const f of frames) expect(f.length).to.be.at.most(maxFrame);
    const back = frames.flatMap((f) => {
      const m = decodePrimary(f);
      return m.kind === "certificates" ? m.certificates : [];
    });
    expect(back.map((c) => c.digest.toString("hex"))).to.deep.equal(certificates.map((c) => c.digest.toString("hex")));
  });
});

describe("peer handshake", () => {
  const { committee, keys } = testCommittee(4);

  function run(a: Handshake, b: Handshake): void {
    const authA = b.receive(a.hello());
    const authB = a.receive(b.hello());
    expect(b.receive(authB as Buffer)).to.equal("done");
    expect(a.receive(authA as Buffer)).to.equal("done");
  }

  it("authenticates two members to each other", () => {
    const a = new Handshake(keys[0], committee, "primary");
    const b = new Handshake(keys[1], committee, "primary");
    run(a, b);
    expect(a.peer).to.equal(1);
    expect(b.peer).to.equal(0);
  });

  it("refuses a key outside the committee, another epoch, another domain and a replayed signature", () => {
    const member = new Handshake(keys[0], committee, "primary");
    expect(() => member.receive(new Handshake(KeyPair.generate(), committee, "primary").hello())).to.throw(/not in the committee/);
    const otherEpoch = new Committee(committee.epoch + 1, [...committee.members], committee.chain);
    expect(() => new Handshake(keys[0], committee, "primary").receive(new Handshake(keys[1], otherEpoch, "primary").hello())).to.throw(/epoch/);
    expect(() => new Handshake(keys[0], committee, "primary").receive(new Handshake(keys[1], committee, "worker").hello())).to.throw(/domain/);
    // An Auth recorded from one session does not open another (the nonce differs).
    const a1 = new Handshake(keys[0], committee, "primary");
    const b1 = new Handshake(keys[1], committee, "primary");
    a1.receive(b1.hello());
    const recordedAuth = b1.receive(a1.hello()) as Buffer;
    const victim = new Handshake(keys[0], committee, "primary");
    victim.receive(b1.hello());
    expect(() => victim.receive(recordedAuth)).to.throw(/bad handshake signature/);
  });
});

describe("PeerNetwork", function () {
  this.timeout(20_000);
  it("delivers frames between members, queues while a peer is down, reconnects, caps its queue", async () => {
    const { committee, keys } = testCommittee(2);
    const base = 21_000 + Math.floor(Math.random() * 5000);
    const make = (me: number) =>
      new PeerNetwork({
        key: keys[me],
        committee,
        me,
        domain: "primary",
        endpointOf: (i) => ({ host: "127.0.0.1", port: base + i }),
        maxFrame: 1 << 20,
        maxQueueBytes: 4 << 20,
        logger: new Logger({}, 100),
      });
    let a = make(0);
    const got: string[] = [];
    await a.start();
    // A peer that is down costs at most one maxFrame of queue, not maxQueueBytes.
    for (let i = 0; i < 6; i++) a.send(1, Buffer.alloc(600 << 10));
    expect(a.pending(1)).to.be.at.most(1 << 20);
    await a.close();
    a = make(0);
    await a.start();
    a.send(1, Buffer.from("queued while 1 is down"));
    let b = make(1);
    b.onFrame((from, f) => got.push(`${from}:${f}`));
    await b.start();
    await waitFor("queued frame delivered", () => got.length === 1, 10_000);
    await b.close();
    b = make(1);
    b.onFrame((from, f) => got.push(`${from}:${f}`));
    await b.start();
    // Frames written to a link before its loss is noticed are lost (the protocols re-send or
    // fetch); a has reconnected within its 50 ms backoff.
    await new Promise((r) => setTimeout(r, 500));
    a.send(1, Buffer.from("after reconnect"));
    await waitFor("frame after reconnect", () => got.length === 2, 10_000);
    expect(got).to.deep.equal(["0:queued while 1 is down", "0:after reconnect"]);
    expect(a.send(1, Buffer.alloc(5 << 20))).to.equal(false, "a frame above the queue cap is dropped");
    await Promise.all([a.close(), b.close()]);
  });
});

describe("PeerNetwork before authentication", function () {
  this.timeout(20_000);
  it("disconnects a stranger announcing a big frame, and caps connections still in their handshake", async () => {
    const { committee, keys } = testCommittee(2);
    const port = 26_000 + Math.floor(Math.random() * 5000);
    const server = new PeerNetwork({
      key: keys[0],
      committee,
      me: 0,
      domain: "primary",
      endpointOf: (i) => ({ host: "127.0.0.1", port: port + i }),
      maxFrame: 1 << 20,
      maxQueueBytes: 1 << 20,
      logger: new Logger({}, 100),
    });
    await server.start();
    const open = (): { socket: net.Socket; closed: () => boolean } => {
      const socket = net.connect({ host: "127.0.0.1", port });
      let closed = false;
      socket.on("error", () => {});
      socket.on("close", () => (closed = true));
      return { socket, closed: () => closed };
    };
    try {
      // Announces a 1,000,000-byte frame (under maxFrame) and starts sending it, unauthenticated.
      const big = open();
      big.socket.write(Buffer.concat([Buffer.from([0x40, 0x42, 0x0f, 0x00]), Buffer.alloc(100_000)]));
      await waitFor("the stranger disconnected well before the 5 s handshake timeout", big.closed, 1_500);

      // Connections that never complete a handshake: past 32 they are closed at once.
      const idle = Array.from({ length: 40 }, open);
      await waitFor("connections beyond the cap closed", () => idle.filter((c) => c.closed()).length >= 8, 1_500);
      expect(idle.filter((c) => c.closed()).length).to.equal(8);
      idle.forEach((c) => c.socket.destroy());
    } finally {
      await server.close();
    }
  });
});
