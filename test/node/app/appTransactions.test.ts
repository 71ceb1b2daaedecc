/** The application transactions' encoding: canonical, capped, and strict about what it decodes. */
import { expect } from "chai";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { AppTxKind, decodeAppTx, encodeAppTx, MAX_ACKS_PER_TX, MAX_COMPUTE_ACKS_PER_TX, type AppTx } from "../../../node/app/appTransactions";
import type { SignedComputeAck } from "../../../node/acks/computeReceipt";
import { signPayerBinding } from "../../../node/acks/payerBinding";
import { ackFrom, newClient } from "./appFixtures";

describe("app: transaction encoding", () => {
  const client = newClient();
  const node = KeyPair.generate();

  const computeAck: SignedComputeAck = {
    receipt: {
      nodeKey: node.publicKey,
      clientKey: client.key,
      functionRoot: Buffer.alloc(32, 1),
      requestHash: Buffer.alloc(32, 2),
      responseHash: Buffer.alloc(32, 3),
      cpuUs: 1_234,
      wallMs: 5,
      egressBytes: 99,
      windowStart: 1_000,
      windowEnd: 61_000,
      nonce: Buffer.alloc(16, 4),
    },
    nodeSignature: Buffer.alloc(64, 5),
    clientSignature: Buffer.alloc(64, 6),
  };

  it("round-trips every kind", async () => {
    const txs: AppTx[] = [
      { kind: AppTxKind.Acks, acks: [ackFrom(client, node.publicKey, 123, 1_000), ackFrom(client, node.publicKey, 0, 2_000)] },
      { kind: AppTxKind.Payer, binding: await signPayerBinding(client.privateKey, client.key, client.account) },
      {
        kind: AppTxKind.Measurements,
        epoch: 7,
        reports: [{ peer: 3, latency: 12.5, uptime: 100 }, { peer: 9, bytesSent: 4096, interactions: -3 }, { peer: 4 }],
      },
      { kind: AppTxKind.CloseEpoch, epoch: 7 },
      { kind: AppTxKind.ReportSignature, epoch: 7, signature: Buffer.alloc(65, 9) },
      { kind: AppTxKind.ComputeAcks, acks: [computeAck, computeAck] },
    ];
    for (const tx of txs) expect(decodeAppTx(encodeAppTx(tx))).to.deep.equal(tx);
  });

  it("caps acks per transaction and refuses empty, truncated, padded and unknown payloads", () => {
    const ack = ackFrom(client, node.publicKey, 1, 1_000);
    expect(() => encodeAppTx({ kind: AppTxKind.Acks, acks: Array(MAX_ACKS_PER_TX + 1).fill(ack) })).to.throw(/at most/);
    const full = encodeAppTx({ kind: AppTxKind.Acks, acks: Array(MAX_ACKS_PER_TX).fill(ack) });
    expect(full.length).to.be.lessThan(64 * 1024 - 96);
    const tooMany = Buffer.from(full);
    tooMany.writeUInt16LE(MAX_ACKS_PER_TX + 1, 1);
    expect(() => decodeAppTx(tooMany)).to.throw(/ack count/);
    expect(() => decodeAppTx(Buffer.from([AppTxKind.Acks, 0, 0]))).to.throw(/ack count/);
    expect(() => decodeAppTx(full.subarray(0, full.length - 1))).to.throw(/truncated/);
    expect(() => decodeAppTx(Buffer.concat([encodeAppTx({ kind: AppTxKind.CloseEpoch, epoch: 1 }), Buffer.from([0])]))).to.throw(/trailing/);
    expect(() => decodeAppTx(Buffer.from([42]))).to.throw(/unknown/);
    expect(() => encodeAppTx({ kind: AppTxKind.ComputeAcks, acks: Array(MAX_COMPUTE_ACKS_PER_TX + 1).fill(computeAck) })).to.throw(/at most/);
    const fullCompute = encodeAppTx({ kind: AppTxKind.ComputeAcks, acks: Array(MAX_COMPUTE_ACKS_PER_TX).fill(computeAck) });
    expect(fullCompute.length).to.be.lessThan(64 * 1024 - 96);
    expect(() => decodeAppTx(Buffer.from([AppTxKind.ComputeAcks, 0, 0]))).to.throw(/compute ack count/);
    expect(() => decodeAppTx(fullCompute.subarray(0, fullCompute.length - 1))).to.throw(/truncated/);
    const measurement = encodeAppTx({ kind: AppTxKind.Measurements, epoch: 1, reports: [{ peer: 1 }] });
    measurement[measurement.length - 1] = 0x80;
    expect(() => decodeAppTx(measurement)).to.throw(/metric bits/);
  });
});
