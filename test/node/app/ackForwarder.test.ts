/**
 * The ack forwarder: bindings before acks once per epoch, acks of the next epoch's interval held
 * back, refused submissions kept. The consensus node is a recording stand-in: this is about what
 * the forwarder hands over, not about consensus.
 */
import { expect } from "chai";
import { signPayerBinding } from "../../../node/acks/payerBinding";
import type { SignedComputeAck } from "../../../node/acks/computeReceipt";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { signSnapshot } from "../../../node/agents/agentRecords";
import { AckForwarder } from "../../../node/app/ackForwarder";
import { AppTxKind, decodeAppTx } from "../../../node/app/appTransactions";
import { SubmitStatus, type SubmitResult } from "../../../node/client/protocol";
import { transactionPayload } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Logger } from "../../../node/logger";
import { ackFrom, newClient } from "./appFixtures";

describe("app: ack forwarder", () => {
  it("binds each client once per epoch before its acks, holds next-epoch acks and keeps refused ones", async () => {
    const key = KeyPair.generate();
    const client = newClient();
    let epoch = 1;
    let status = SubmitStatus.Ok;
    const sent: ReturnType<typeof decodeAppTx>[] = [];
    const node = {
      status: () => ({ epoch, member: true }),
      submit: (txs: Buffer[]): SubmitResult => {
        if (status !== SubmitStatus.Ok) return { accepted: 0, status, reason: "busy" };
        sent.push(...txs.map((t) => decodeAppTx(transactionPayload(t))));
        return { accepted: txs.length, status, reason: "" };
      },
    };
    const forwarder = new AckForwarder(node, key, new Logger());
    forwarder.bindPayer(await signPayerBinding(client.privateKey, client.key, client.account));
    const now = ackFrom(client, key.publicKey, 10, 1_000);
    const later = ackFrom(client, key.publicKey, 20, 5_000);
    forwarder.submit(now);
    forwarder.submit(later);
    forwarder.holdFrom(5_000);

    status = SubmitStatus.Busy;
    await forwarder.flush();
    expect(sent).to.deep.equal([]);
    expect(forwarder.pending).to.equal(2);

    status = SubmitStatus.Ok;
    await forwarder.flush();
    expect(sent.map((t) => t.kind)).to.deep.equal([AppTxKind.Payer, AppTxKind.Acks]);
    expect(sent[1].kind === AppTxKind.Acks && sent[1].acks.map((a) => a.ack.bytes)).to.deep.equal([10]);
    expect(forwarder.pending).to.equal(1, "the next epoch's ack waits");
    await forwarder.flush();
    expect(sent).to.have.length(2);

    epoch = 2;
    forwarder.holdFrom(9_000);
    await forwarder.flush();
    expect(sent.slice(2).map((t) => t.kind)).to.deep.equal([AppTxKind.Payer, AppTxKind.Acks], "bound again in the new epoch");
    expect(forwarder.pending).to.equal(0);
  });

  it("submits the newest snapshot record per agent as AgentSnapshots, keeping refused ones unless a newer came", async () => {
    const key = KeyPair.generate();
    let status = SubmitStatus.Busy;
    const sent: ReturnType<typeof decodeAppTx>[] = [];
    const node = {
      status: () => ({ epoch: 1, member: true }),
      submit: (txs: Buffer[]): SubmitResult => {
        if (status !== SubmitStatus.Ok) return { accepted: 0, status, reason: "busy" };
        sent.push(...txs.map((t) => decodeAppTx(transactionPayload(t))));
        return { accepted: txs.length, status, reason: "" };
      },
    };
    const forwarder = new AckForwarder(node, key, new Logger());
    const nodePrivateKey = ed25519PrivateKeyFromSeed(key.seed);
    const record = (agent: string, sequence: number) =>
      signSnapshot({ agent, root: "ab".repeat(32), bytes: 10, sequence, takenAt: 1, nodeKey: key.publicKey.toString("hex") }, nodePrivateKey);
    forwarder.submitSnapshot(record("7", 2));
    forwarder.submitSnapshot(record("7", 1));
    forwarder.submitSnapshot(record("9", 1));
    await forwarder.flush();
    expect(sent).to.deep.equal([]);
    forwarder.submitSnapshot(record("9", 3));
    status = SubmitStatus.Ok;
    await forwarder.flush();
    expect(sent).to.deep.equal([{ kind: AppTxKind.AgentSnapshots, records: [record("7", 2), record("9", 3)] }]);
    await forwarder.flush();
    expect(sent).to.have.length(1, "nothing left to send");
  });

  it("sends delivery and compute acks in their order, each run of one kind as one transaction, holding next-epoch receipts", async () => {
    const key = KeyPair.generate();
    const client = newClient();
    const sent: ReturnType<typeof decodeAppTx>[] = [];
    const node = {
      status: () => ({ epoch: 1, member: true }),
      submit: (txs: Buffer[]): SubmitResult => {
        sent.push(...txs.map((t) => decodeAppTx(transactionPayload(t))));
        return { accepted: txs.length, status: SubmitStatus.Ok, reason: "" };
      },
    };
    const forwarder = new AckForwarder(node, key, new Logger());
    const receipt = (windowStart: number, cpuUs: number): SignedComputeAck => ({
      receipt: {
        nodeKey: key.publicKey,
        clientKey: client.key,
        functionRoot: Buffer.alloc(32, 1),
        requestHash: Buffer.alloc(32, 2),
        responseHash: Buffer.alloc(32, 3),
        cpuUs,
        wallMs: 1,
        egressBytes: 1,
        windowStart,
        windowEnd: windowStart + 60_000,
        nonce: Buffer.alloc(16, cpuUs),
      },
      nodeSignature: Buffer.alloc(64),
      clientSignature: Buffer.alloc(64),
    });
    forwarder.submit(ackFrom(client, key.publicKey, 10, 1_000));
    forwarder.submitCompute(receipt(1_000, 1));
    forwarder.submitCompute(receipt(1_001, 2));
    forwarder.submitCompute(receipt(5_000, 3));
    forwarder.submit(ackFrom(client, key.publicKey, 20, 1_002));
    forwarder.holdFrom(5_000);
    await forwarder.flush();
    expect(sent.map((t) => t.kind)).to.deep.equal([AppTxKind.Acks, AppTxKind.ComputeAcks, AppTxKind.Acks]);
    expect(sent[1].kind === AppTxKind.ComputeAcks && sent[1].acks.map((a) => a.receipt.cpuUs)).to.deep.equal([1, 2]);
    expect(forwarder.pending).to.equal(1, "the next epoch's receipt waits");
  });
});
