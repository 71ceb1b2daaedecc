/**
 * The node's admission of agent calls paid in the creator token (node/acks/tokenCallDesk.ts,
 * docs/agents.md "Calls paid in the creator token") against TokenCallEscrow and AgentMarketplace on
 * Hardhat's EVM, read over the node's JSON-RPC reader (node/chain/tokenCallChain.ts): a call
 * without token funds is refused before it runs, each call must raise the voucher by the agent's
 * token price for the call's epoch (a price change racing a call does not reach it), forged and
 * wrong-token vouchers are refused, a requested withdrawal stops covering calls, and the desk's
 * redemption pays the node's operator on chain. With a file the vouchers outlive the desk: a torn
 * last record reopens without that voucher, and the file stays bounded over many vouchers and
 * redemptions.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Signature, toBeHex } from "ethers";
import { TokenCallDesk, type SignedTokenVoucher, type TokenCallChain } from "../../../node/acks/tokenCallDesk";
import { receiptBlock } from "../../../node/chain/tokenCallKeeper";
import type { LogDamage } from "../../../node/storage/appendLog";
import { FLK } from "../../../protocol/units";
import { tokenChannelId } from "../../../protocol/tokenVoucher";
import { registerNodes } from "../../../testkit/registry";
import { fundWithFlk } from "../../../testkit/flk";
import { buyCreatorToken, signedVoucher, tokenDeskSuite } from "../../../testkit/tokenCalls";

type DeskSuite = Awaited<ReturnType<typeof tokenDeskSuite>>;

/** secp256k1's group order. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A desk keeping its vouchers in `file`, torn ends reported to `damage`. */
function fileDesk(f: DeskSuite, file: string, damage: LogDamage[] = [], logBytes?: number): TokenCallDesk {
  return new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain, file, logBytes, onDamage: (d) => damage.push(d) });
}

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "token-desk-")), "vouchers.log");
}

/** The node's redemption: TokenCallEscrow.redeem from the node's operator, resolving to its receipt's block. */
function redeemer(f: DeskSuite): (v: SignedTokenVoucher) => Promise<number> {
  return async ({ voucher, signature }) => receiptBlock(await (await f.escrow.connect(f.s.node.owner).redeem(voucher, signature)).wait());
}

/** The suite's chain reader, except that while `lagAt()` is a block it is a lagging RPC: its head and every read are at that block. */
function laggingChain(f: DeskSuite, lagAt: () => number | undefined): TokenCallChain {
  return {
    ...f.chain,
    blockNumber: async () => lagAt() ?? f.chain.blockNumber(),
    depositOf: async (caller, token, nodeId, blockTag) => {
      const at = lagAt();
      if (at === undefined) return f.chain.depositOf(caller, token, nodeId, blockTag);
      const [balance, pending] = await f.escrow.deposits(caller, token, nodeId, { blockTag: at });
      return { balance, pending };
    },
    redeemedOf: async (v, blockTag) => {
      const at = lagAt();
      return at === undefined ? f.chain.redeemedOf(v, blockTag) : f.escrow.redeemed(tokenChannelId(v), { blockTag: at });
    },
  };
}

/** A third caller (carol) holding the creator's token, the escrow approved to take it. */
async function newCaller(f: DeskSuite) {
  const carol = (await hre.ethers.getSigners())[13];
  await fundWithFlk(f.s, [carol.address], 1_000n * FLK);
  await buyCreatorToken(f.s, carol, f.s.creator.address, 100n * FLK);
  await (await hre.ethers.getContractAt("IERC20", f.s.token)).connect(carol).approve(await f.escrow.getAddress(), hre.ethers.MaxUint256);
  return carol;
}

/** The fixture and a desk of its own: the chain is restored per test, a desk's memory is not. */
async function withDesk() {
  const f = await loadFixture(tokenDeskSuite);
  return { ...f, desk: new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain }) };
}

describe("TokenCallDesk: admission of token-paid agent calls", () => {
  it("refuses a call without token funds, then admits calls each raising the voucher by the price until the deposit is vouched", async () => {
    const { s, escrow, desk } = await withDesk();
    const [alice] = s.callers;
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK))).to.match(/covers 0 .*2000000000000000000 would be vouched/);
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 5n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK))).to.equal(undefined);
    // The same voucher again, or one raised by less than a call, pays for nothing new.
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK))).to.match(/at least 4000000000000000000/);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 3n * FLK))).to.match(/at least 4000000000000000000/);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 4n * FLK))).to.equal(undefined);
    // A third call would vouch 6 of a deposit of 5.
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 6n * FLK))).to.match(/covers 5000000000000000000/);
    expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([4n * FLK]);
  });

  it("admits against the caller's deposit for this node only, summed over all its agents here, less a requested withdrawal", async () => {
    const { s, escrow, desk, market, clock } = await withDesk();
    const [alice] = s.callers;
    const [other] = await registerNodes(s, 1, undefined, 1);
    await market.connect(s.creator).register("second", `0x${"0c".repeat(32)}`, `0x${"0d".repeat(32)}`, 64, 0);
    await market.connect(s.creator).setPrice(2, 0, 2n * FLK);
    await clock.setEpoch(7);
    // A deposit for another node backs nothing here: that node's vouchers are paid from it.
    await escrow.connect(alice).deposit(s.creator.address, other.id, 6n * FLK);
    expect(await desk.admit(1n, 7, await signedVoucher(s, alice, 2n * FLK))).to.match(
      new RegExp(`for node ${s.node.id} covers 0 \\(less a requested withdrawal\\), 2000000000000000000 would be vouched`),
    );
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 6n * FLK);
    expect(await desk.admit(1n, 7, await signedVoucher(s, alice, 2n * FLK))).to.equal(undefined);
    expect(await desk.admit(1n, 7, await signedVoucher(s, alice, 4n * FLK))).to.equal(undefined);
    expect(await desk.admit(2n, 7, await signedVoucher(s, alice, 2n * FLK, { agentId: 2n }))).to.equal(undefined);
    // Agent 1's 4 and agent 2's 2 vouch the whole deposit of 6: a third agent-2 call would vouch 8.
    expect(await desk.admit(2n, 7, await signedVoucher(s, alice, 4n * FLK, { agentId: 2n }))).to.match(
      /covers 6000000000000000000 \(less a requested withdrawal\), 8000000000000000000 would be vouched to this node over all its agents/,
    );
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 4n * FLK);
    // 10 deposited, 3 asked back: 7 backs calls, 8 would be vouched.
    await escrow.connect(alice).requestWithdrawal(s.token, s.node.id, 3n * FLK);
    expect(await desk.admit(2n, 7, await signedVoucher(s, alice, 4n * FLK, { agentId: 2n }))).to.match(
      /covers 7000000000000000000 \(less a requested withdrawal\), 8000000000000000000/,
    );
    // A smaller request replaces it: 8 backs calls.
    await escrow.connect(alice).requestWithdrawal(s.token, s.node.id, 2n * FLK);
    expect(await desk.admit(2n, 7, await signedVoucher(s, alice, 4n * FLK, { agentId: 2n }))).to.equal(undefined);
    expect(desk.due().map((d) => [d.voucher.agentId, d.voucher.cumulative])).to.deep.equal([
      [1n, 4n * FLK],
      [2n, 4n * FLK],
    ]);
  });

  it("two calls racing with the same voucher: one is admitted", async () => {
    const { s, escrow, desk } = await withDesk();
    const [alice] = s.callers;
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    const v = await signedVoucher(s, alice, 2n * FLK);
    const answers = await Promise.all([desk.admit(1n, 6, v), desk.admit(1n, 6, v)]);
    expect(answers.filter((a) => a === undefined)).to.have.length(1);
  });

  it("charges the price of the call's epoch: a price change in epoch 6 reaches only epoch 7's calls", async () => {
    const { s, escrow, desk, market, clock } = await withDesk();
    const [alice] = s.callers;
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    await market.connect(s.creator).setPrice(1, 0, 10n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK))).to.equal(undefined);
    await clock.setEpoch(7);
    expect(await desk.admit(1n, 7, await signedVoucher(s, alice, 4n * FLK))).to.match(/at least 12000000000000000000 \(a call costs 10000000000000000000/);
    expect(await desk.admit(1n, 7, await signedVoucher(s, alice, 12n * FLK))).to.equal(undefined);
  });

  it("refuses a forged voucher, one in another creator's token, one for another node or agent, and an agent without a token price", async () => {
    const { s, escrow, desk, market } = await withDesk();
    const [alice, bob] = s.callers;
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK, { signer: bob }))).to.match(/not signed by its caller/);
    // Alice's own token exists and she deposits it: still not the agent's token.
    await buyCreatorToken(s, alice, alice.address, 10n * FLK);
    const own = await s.creatorMarket.tokenOf(alice.address);
    await (await hre.ethers.getContractAt("IERC20", own)).connect(alice).approve(await escrow.getAddress(), hre.ethers.MaxUint256);
    await escrow.connect(alice).deposit(alice.address, s.node.id, 5n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK, { token: own }))).to.match(/is priced in token/);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK, { nodeId: s.node.id + 1 }))).to.match(/not agent 1 on node/);
    expect(await desk.admit(2n, 6, await signedVoucher(s, alice, 2n * FLK))).to.match(/not agent 2/);
    expect(await desk.admit(2n, 6, await signedVoucher(s, alice, 2n * FLK, { agentId: 2n }))).to.match(/no price in a creator token/);
    await market.connect(s.creator).register("free", `0x${"0a".repeat(32)}`, `0x${"0b".repeat(32)}`, 64, 0);
    expect(await desk.admit(2n, 6, await signedVoucher(s, alice, 2n * FLK, { agentId: 2n }))).to.match(/no price in a creator token/);
    expect(desk.due()).to.deep.equal([]);
  });

  it("stops covering calls with a deposit asked back, and redeems what it admitted to the node's operator", async () => {
    const { s, escrow, desk, chain } = await withDesk();
    const [alice] = s.callers;
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 2n * FLK))).to.equal(undefined);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 4n * FLK))).to.equal(undefined);
    await escrow.connect(alice).requestWithdrawal(s.token, s.node.id, 5n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(s, alice, 6n * FLK))).to.match(
      /covers 5000000000000000000 \(less a requested withdrawal\), 6000000000000000000/,
    );
    const redeemed = await desk.redeemDue(async ({ voucher, signature }) =>
      receiptBlock(await (await escrow.connect(s.node.owner).redeem(voucher, signature)).wait()),
    );
    expect(redeemed).to.equal(1);
    expect(await escrow.redeemed(tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: s.node.id, token: s.token }))).to.equal(4n * FLK);
    expect(await escrow.channelId(alice.address, 1n, s.node.id, s.token)).to.equal(
      tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: s.node.id, token: s.token }),
    );
    // 20% of 4 tokens to the node's operator, 70% to the creator.
    expect(await escrow.earnings(s.token, s.node.owner.address)).to.equal(800_000_000_000_000_000n);
    expect(await escrow.earnings(s.token, s.creator.address)).to.equal(2_800_000_000_000_000_000n);
    expect(desk.due()).to.deep.equal([]);
    // Redeemed on chain: a fresh desk starts the channel from there, and counts only the 2 not yet
    // redeemed against what the deposit still covers (10 − 4 redeemed − 5 asked back = 1).
    const fresh = new TokenCallDesk({ nodeId: s.node.id, domain: s.domain, chain });
    expect(await fresh.admit(1n, 6, await signedVoucher(s, alice, 4n * FLK))).to.match(/at least 6000000000000000000/);
    expect(await fresh.admit(1n, 6, await signedVoucher(s, alice, 6n * FLK))).to.match(
      /covers 1000000000000000000 \(less a requested withdrawal\), 2000000000000000000/,
    );
  });

  it("forgets a channel whose voucher the chain shows redeemed already, also after a restart, when its redemption fails", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice, bob] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    const file = tempFile();
    const desk = fileDesk(f, file);
    const v = await signedVoucher(f.s, alice, 2n * FLK);
    expect(await desk.admit(1n, 6, v)).to.equal(undefined);
    // Anyone may redeem: bob does, so the node's own redemption reverts (TokenCallNothingToRedeem).
    await (await f.escrow.connect(bob).redeem(v.voucher, v.signature)).wait();
    await desk.close();
    const reopened = fileDesk(f, file);
    const send = async ({ voucher, signature }: { voucher: typeof v.voucher; signature: string }) =>
      receiptBlock(await (await f.escrow.connect(f.s.node.owner).redeem(voucher, signature)).wait());
    expect(await reopened.redeemDue(send)).to.equal(0);
    expect(reopened.due()).to.deep.equal([]);
    await reopened.close();
    const again = fileDesk(f, file);
    expect(again.due()).to.deep.equal([]);
    await again.close();
    expect(await f.escrow.earnings(f.s.token, f.s.node.owner.address)).to.equal(400_000_000_000_000_000n);
  });

  it("reopens a file whose last record is torn without that voucher and without error, and appends after it", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice, bob] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    await f.escrow.connect(bob).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    const file = tempFile();
    const desk = fileDesk(f, file);
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.equal(undefined);
    const aliceEnd = fs.statSync(file).size;
    const bobs = await signedVoucher(f.s, bob, 2n * FLK);
    expect(await desk.admit(1n, 6, bobs)).to.equal(undefined);
    await desk.close();
    // A crash in the middle of writing bob's record: its last 10 bytes never reached the disk.
    fs.truncateSync(file, fs.statSync(file).size - 10);

    const damage: LogDamage[] = [];
    const reopened = fileDesk(f, file, damage);
    expect(reopened.due().map((d) => [d.voucher.caller, d.voucher.cumulative])).to.deep.equal([[alice.address, 2n * FLK]]);
    expect(damage.map((d) => [d.kind, d.offset])).to.deep.equal([["torn", aliceEnd]]);
    // Bob's call was never served (admit had not returned): he sends the same voucher again.
    expect(await reopened.admit(1n, 6, bobs)).to.equal(undefined);
    await reopened.close();
    const again = fileDesk(f, file, damage);
    expect(again.due().map((d) => [d.voucher.caller, d.voucher.cumulative])).to.deep.equal([
      [alice.address, 2n * FLK],
      [bob.address, 2n * FLK],
    ]);
    expect(damage).to.have.length(1);
    await again.close();
  });

  it("keeps its file bounded over many vouchers and redemptions, with only the live channels after a rewrite", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice, bob] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 500n * FLK);
    await f.escrow.connect(bob).deposit(f.s.creator.address, f.s.node.id, 500n * FLK);
    const file = tempFile();
    // A record is under 400 bytes: past 2 KiB the file holds the 2 live channels only, well under 1 KiB.
    const BOUND = 2048 + 400;
    let desk = fileDesk(f, file, [], 2048);
    const redeem = (d: TokenCallDesk) =>
      d.redeemDue(async ({ voucher, signature }) => receiptBlock(await (await f.escrow.connect(f.s.node.owner).redeem(voucher, signature)).wait()));
    let sizes: number[] = [];
    for (let call = 1n; call <= 30n; call++) {
      for (const caller of [alice, bob]) {
        expect(await desk.admit(1n, 6, await signedVoucher(f.s, caller, 2n * FLK * call))).to.equal(undefined);
        sizes.push(fs.statSync(file).size);
      }
      if (call % 10n === 0n) {
        expect(await redeem(desk)).to.equal(2);
        sizes.push(fs.statSync(file).size);
        // Reopened from the file: nothing due after a redemption, so a restart redeems nothing twice.
        await desk.close();
        desk = fileDesk(f, file, [], 2048);
        expect(desk.due()).to.deep.equal([]);
      }
    }
    expect(Math.max(...sizes)).to.be.at.most(BOUND);
    expect(
      sizes.some((size, i) => i > 0 && size < sizes[i - 1]),
      "a rewrite shrank the file",
    ).to.equal(true);

    // Bob's channel settled, alice calls on until the file is rewritten: bob is off the disk.
    let call = 30n;
    sizes = [fs.statSync(file).size];
    while (sizes.length < 2 || sizes[sizes.length - 1] >= sizes[sizes.length - 2]) {
      expect(++call).to.be.below(60n);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK * call))).to.equal(undefined);
      sizes.push(fs.statSync(file).size);
    }
    expect(fs.readFileSync(file, "utf8").toLowerCase()).to.not.include(bob.address.slice(2).toLowerCase());
    expect(Math.max(...sizes)).to.be.at.most(BOUND);
    await desk.close();
    const reopened = fileDesk(f, file);
    expect(reopened.due().map((d) => [d.voucher.caller, d.voucher.cumulative])).to.deep.equal([[alice.address, 2n * FLK * call]]);
    await reopened.close();
  });
  it("refuses a voucher signed with v 0/1 or a high s, which TokenCallEscrow would never redeem, saying why", async () => {
    const { s, escrow, desk } = await withDesk();
    const [alice] = s.callers;
    await escrow.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    const good = await signedVoucher(s, alice, 2n * FLK);
    const sig = Signature.from(good.signature);
    const v01 = sig.r + sig.s.slice(2) + (sig.v - 27).toString(16).padStart(2, "0");
    const highS = sig.r + toBeHex(SECP256K1_N - BigInt(sig.s), 32).slice(2) + (55 - sig.v).toString(16);
    expect(await desk.admit(1n, 6, { voucher: good.voucher, signature: v01 })).to.match(/v = [01]: it must be 27 or 28/);
    expect(await desk.admit(1n, 6, { voucher: good.voucher, signature: highS })).to.match(/high s/);
    expect(desk.due()).to.deep.equal([]);
    expect(await desk.admit(1n, 6, good)).to.equal(undefined);
  });

  it("reads again when its own redemption lands during an admission's reads: a voucher below what was redeemed is refused", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    // Reads asked while the gate is set are answered at once but reach the desk only when it opens (a slow RPC).
    let gate: Promise<void> | undefined;
    let held = 0;
    const hold = async <T>(answer: Promise<T>): Promise<T> => {
      const until = gate;
      const value = await answer;
      if (until) {
        held++;
        await until;
      }
      return value;
    };
    const chain: TokenCallChain = {
      ...f.chain,
      depositOf: (...a) => hold(f.chain.depositOf(...a)),
      redeemedOf: (...a) => hold(f.chain.redeemedOf(...a)),
    };
    const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain });
    for (let call = 1n; call <= 5n; call++) expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK * call))).to.equal(undefined);
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    // A voucher of 2 on the channel the node is about to redeem up to 10: its reads see nothing redeemed.
    const late = desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK));
    while (held < 2) await new Promise((resolve) => setImmediate(resolve));
    gate = undefined;
    expect(await desk.redeemDue(redeemer(f))).to.equal(1);
    open();
    expect(await late).to.match(/at least 12000000000000000000/);
    expect(desk.due()).to.deep.equal([]);
  });

  it("refuses politely while its chain reader is behind its last redemption, which would show the deposit it took", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    let lagAt: number | undefined;
    const chain = laggingChain(f, () => lagAt);
    const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain });
    for (let call = 1n; call <= 5n; call++) expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK * call))).to.equal(undefined);
    const before = await hre.ethers.provider.getBlockNumber();
    expect(await desk.redeemDue(redeemer(f))).to.equal(1);
    lagAt = before;
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.match(
      new RegExp(`chain reader is at block ${before}, before its last redemption at ${before + 1}: try again`),
    );
    lagAt = undefined;
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.match(/at least 12000000000000000000/);
    expect(desk.due()).to.deep.equal([]);
  });

  it("remembers its last redemption's block across restarts and a rewrite of its file: a lagging reader is still refused after reopening", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice, bob] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    await f.escrow.connect(bob).deposit(f.s.creator.address, f.s.node.id, 500n * FLK);
    let lagAt: number | undefined;
    const chain = laggingChain(f, () => lagAt);
    const file = tempFile();
    const open = () => new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain, file, logBytes: 2048 });
    let desk = open();
    for (let call = 1n; call <= 5n; call++) expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK * call))).to.equal(undefined);
    const before = await hre.ethers.provider.getBlockNumber();
    expect(await desk.redeemDue(redeemer(f))).to.equal(1); // alice's 10: her whole deposit, at block before + 1
    await desk.close();
    // A restart behind an RPC still at the block before the redemption, which shows alice's 10 unspent.
    const behind = new RegExp(`chain reader is at block ${before}, before its last redemption at ${before + 1}: try again`);
    desk = open();
    lagAt = before;
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.match(behind);
    // Bob's calls, on an RPC caught up, grow the file until it is rewritten to the live channels: alice's settled one is gone.
    lagAt = undefined;
    const sizes = [fs.statSync(file).size];
    for (let call = 1n; sizes.length < 2 || sizes[sizes.length - 1] >= sizes[sizes.length - 2]; call++) {
      expect(call).to.be.below(20n);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, bob, 2n * FLK * call))).to.equal(undefined);
      sizes.push(fs.statSync(file).size);
    }
    expect(fs.readFileSync(file, "utf8").toLowerCase()).to.not.include(alice.address.slice(2).toLowerCase());
    await desk.close();
    desk = open();
    lagAt = before;
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.match(behind);
    // Caught up, the chain shows alice's deposit spent.
    lagAt = undefined;
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 12n * FLK))).to.match(/covers 0 /);
    await desk.close();
  });

  it("lets a new paying caller take the place of a channel left part-paid by a caller who withdrew when its table is full, and keeps one whose caller deposited again", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice, bob] = f.s.callers;
    const carol = await newCaller(f);
    const file = tempFile();
    const open = () => new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain, file, maxChannels: 2 });
    let desk = open();
    // Alice and bob vouch 10 each against deposits of 10, then take 6 back before the node redeems: 4 paid each, 6 unpaid.
    for (const caller of [alice, bob]) {
      await f.escrow.connect(caller).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, caller, 10n * FLK))).to.equal(undefined);
      await f.escrow.connect(caller).requestWithdrawal(f.s.token, f.s.node.id, 6n * FLK);
    }
    await time.increase(3_600);
    for (const caller of [alice, bob]) await f.escrow.connect(caller).withdraw(f.s.token, f.s.node.id);
    expect(await desk.redeemDue(redeemer(f))).to.equal(2);
    const cumulatives = () => desk.due().map((d) => [d.voucher.caller, d.voucher.cumulative]);
    expect(cumulatives()).to.deep.equal([
      [alice.address, 10n * FLK],
      [bob.address, 10n * FLK],
    ]);
    // A caller who cannot pay takes no one's place.
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, carol, 2n * FLK))).to.match(/covers 0 /);
    expect(cumulatives()).to.have.length(2);
    // Alice deposits again: her rest is payable, so her channel stays (and the next round redeems it).
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, FLK);
    await f.escrow.connect(carol).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, carol, 2n * FLK))).to.match(/too many unredeemed channels/);
    // Bob's deposit is still empty: carol takes his place.
    expect(await desk.admit(1n, 6, await signedVoucher(f.s, carol, 2n * FLK))).to.equal(undefined);
    const kept = [
      [alice.address, 10n * FLK],
      [carol.address, 2n * FLK],
    ];
    expect(cumulatives()).to.deep.equal(kept);
    // Forgotten on disk too.
    await desk.close();
    desk = open();
    expect(cumulatives()).to.deep.equal(kept);
    // Alice's 1 and carol's 2 are redeemed: 20% of 4 + 4 + 1 + 2 to the node's operator.
    expect(await desk.redeemDue(redeemer(f))).to.equal(2);
    expect(cumulatives()).to.deep.equal([[alice.address, 10n * FLK]]);
    expect(await f.escrow.earnings(f.s.token, f.s.node.owner.address)).to.equal(2_200_000_000_000_000_000n);
    await desk.close();
  });

  it("keeps the unpaid rest of a voucher the contract paid only in part, and redeems it once the caller deposits again", async () => {
    const f = await loadFixture(tokenDeskSuite);
    const [alice] = f.s.callers;
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
    const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain });
    for (let call = 1n; call <= 5n; call++) expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK * call))).to.equal(undefined);
    // The node redeems late: alice asked 6 back and took it after the delay, 4 remain for a voucher of 10.
    await f.escrow.connect(alice).requestWithdrawal(f.s.token, f.s.node.id, 6n * FLK);
    await time.increase(3_600);
    await f.escrow.connect(alice).withdraw(f.s.token, f.s.node.id);
    const channel = tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: f.s.node.id, token: f.s.token });
    expect(await desk.redeemDue(redeemer(f))).to.equal(1);
    expect(await f.escrow.redeemed(channel)).to.equal(4n * FLK);
    expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([10n * FLK]);
    await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 6n * FLK);
    expect(await desk.redeemDue(redeemer(f))).to.equal(1);
    expect(await f.escrow.redeemed(channel)).to.equal(10n * FLK);
    expect(desk.due()).to.deep.equal([]);
    // 20% of the 10 vouched to the node's operator.
    expect(await f.escrow.earnings(f.s.token, f.s.node.owner.address)).to.equal(2n * FLK);
  });

  describe('small channels wait (docs/agents.md "Small channels wait")', () => {
    /** A desk over the suite's chain holding at most `maxChannels`, redeeming a channel only once it pays `minRedeem` (1 whole token). */
    const smallDesk = (f: DeskSuite, maxChannels?: number) =>
      new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain, maxChannels, minRedeem: FLK });
    /** Transactions the node's operator (the redeemer) has sent. */
    const sentBy = (f: DeskSuite) => hre.ethers.provider.getTransactionCount(f.s.node.owner.address);

    /** `callers` each vouch 10 against a deposit of 10 and take 6 back before the node redeems: the desk's round redeems 4 each, 6 stay due. */
    async function partPaid(f: DeskSuite, desk: TokenCallDesk, callers: DeskSuite["s"]["callers"]): Promise<void> {
      for (const caller of callers) {
        await f.escrow.connect(caller).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
        expect(await desk.admit(1n, 6, await signedVoucher(f.s, caller, 10n * FLK))).to.equal(undefined);
        await f.escrow.connect(caller).requestWithdrawal(f.s.token, f.s.node.id, 6n * FLK);
      }
      await time.increase(3_600);
      for (const caller of callers) await f.escrow.connect(caller).withdraw(f.s.token, f.s.node.id);
      expect(await desk.redeemDue(redeemer(f))).to.equal(callers.length);
    }

    it("sends no redemption for a part-paid channel its caller tops up by 1 wei each round, and redeems the rest once it reaches the minimum", async () => {
      const f = await loadFixture(tokenDeskSuite);
      const [alice] = f.s.callers;
      const desk = smallDesk(f);
      await partPaid(f, desk, [alice]);
      const channel = tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: f.s.node.id, token: f.s.token });
      expect(await f.escrow.redeemed(channel)).to.equal(4n * FLK);
      const sent = await sentBy(f);
      for (let round = 0; round < 3; round++) {
        await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 1n);
        expect(await desk.redeemDue(redeemer(f))).to.equal(0);
      }
      expect(await sentBy(f)).to.equal(sent);
      // Kept, not lost: once the deposit pays a whole token, one redemption takes the 3 wei with it.
      expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([10n * FLK]);
      await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, FLK);
      expect(await desk.redeemDue(redeemer(f))).to.equal(1);
      expect(await sentBy(f)).to.equal(sent + 1);
      expect(await f.escrow.redeemed(channel)).to.equal(5n * FLK + 3n);
    });

    it("lets a small channel wait, and redeems it when its caller asks a withdrawal that would take it, before the delay ends", async () => {
      const f = await loadFixture(tokenDeskSuite);
      const [alice] = f.s.callers;
      const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain: f.chain, minRedeem: 5n * FLK });
      await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.equal(undefined);
      // 2 tokens due, under the 5 a redemption must pay: it waits.
      expect(await desk.redeemDue(redeemer(f))).to.equal(0);
      expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([2n * FLK]);
      // A withdrawal of 8 leaves the 2 vouched: still no redemption (and none for each call made meanwhile).
      await f.escrow.connect(alice).requestWithdrawal(f.s.token, f.s.node.id, 8n * FLK);
      expect(await desk.redeemDue(redeemer(f))).to.equal(0);
      // One of 10 would take them.
      await f.escrow.connect(alice).requestWithdrawal(f.s.token, f.s.node.id, 10n * FLK);
      expect(await desk.redeemDue(redeemer(f))).to.equal(1);
      const channel = tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: f.s.node.id, token: f.s.token });
      expect(await f.escrow.redeemed(channel)).to.equal(2n * FLK);
      expect(desk.due()).to.deep.equal([]);
      // After the delay the withdrawal gives back only what the calls did not use.
      await time.increase(3_600);
      const token = await hre.ethers.getContractAt("IERC20", f.s.token);
      const held = await token.balanceOf(alice.address);
      await f.escrow.connect(alice).withdraw(f.s.token, f.s.node.id);
      expect((await token.balanceOf(alice.address)) - held).to.equal(8n * FLK);
    });

    it("never evicts a caller admitted again while a round and a new caller's reads were under way at older blocks", async () => {
      const f = await loadFixture(tokenDeskSuite);
      const [alice, bob] = f.s.callers;
      const carol = await newCaller(f);
      // The suite's reader, with the next head answers set by the test and bob's deposit reads held until released.
      const heads: number[] = [];
      let holdBob: Promise<void> | undefined;
      const chain: TokenCallChain = {
        ...f.chain,
        blockNumber: async () => heads.shift() ?? f.chain.blockNumber(),
        depositOf: async (caller, token, nodeId, blockTag) => {
          const read = f.chain.depositOf(caller, token, nodeId, blockTag);
          if (caller === bob.address && holdBob) await holdBob;
          return read;
        },
      };
      const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain, maxChannels: 2, minRedeem: FLK });
      // Bob's channel part-paid and marked, alice's paid: the table is full.
      await partPaid(f, desk, [bob]);
      await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, 2n * FLK))).to.equal(undefined);
      await f.escrow.connect(carol).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
      const beforeBob = await hre.ethers.provider.getBlockNumber();
      // A round reads bob's empty deposit; before its answer arrives bob deposits 20 and pays a call on it.
      let release = () => {};
      holdBob = new Promise<void>((resolve) => (release = resolve));
      // (Alice's redemption fails in this round, so the desk's last redemption stays before bob's deposit.)
      const redeem = redeemer(f);
      const round = desk.redeemDue((v) => (v.voucher.caller === alice.address ? Promise.reject(new Error("out of gas")) : redeem(v)));
      await f.escrow.connect(bob).deposit(f.s.creator.address, f.s.node.id, 20n * FLK);
      holdBob = undefined;
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, bob, 12n * FLK))).to.equal(undefined);
      release();
      await round;
      // Carol's reads are at a block before bob's deposit (a lagging reader), where it is still empty.
      heads.push(beforeBob);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, carol, 2n * FLK))).to.match(/too many unredeemed channels/);
      expect(desk.due().map((d) => [d.voucher.caller, d.voucher.cumulative])).to.deep.include([bob.address, 12n * FLK]);
    });

    it("redeems a caller who pays a call during every round's reads", async () => {
      const f = await loadFixture(tokenDeskSuite);
      const [alice] = f.s.callers;
      // Alice's next call is admitted while each round reads her channel (the reader's head answer awaits it).
      let cumulative = 2n * FLK;
      let callDuringRead = false;
      const chain: TokenCallChain = {
        ...f.chain,
        blockNumber: async () => {
          if (callDuringRead) {
            callDuringRead = false;
            cumulative += 2n * FLK;
            expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, cumulative))).to.equal(undefined);
          }
          return f.chain.blockNumber();
        },
      };
      const desk = new TokenCallDesk({ nodeId: f.s.node.id, domain: f.s.domain, chain, minRedeem: FLK });
      await f.escrow.connect(alice).deposit(f.s.creator.address, f.s.node.id, 50n * FLK);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, cumulative))).to.equal(undefined);
      const channel = tokenChannelId({ caller: alice.address, agentId: 1n, nodeId: f.s.node.id, token: f.s.token });
      for (let round = 1; round <= 3; round++) {
        if (round > 1) {
          cumulative += 2n * FLK; // a call between rounds, so the round has a voucher due
          expect(await desk.admit(1n, 6, await signedVoucher(f.s, alice, cumulative))).to.equal(undefined);
        }
        callDuringRead = true;
        expect(await desk.redeemDue(redeemer(f)), `round ${round}`).to.equal(1);
        // Each round redeems up to the voucher of the call made during its reads, 2 tokens a call.
        expect(await f.escrow.redeemed(channel)).to.equal(BigInt(4 * round) * FLK);
      }
    });

    it("lets a new paying caller take the place of a part-paid channel topped up by 1 wei after each round, without redeeming the wei", async () => {
      const f = await loadFixture(tokenDeskSuite);
      const [alice, bob] = f.s.callers;
      const carol = await newCaller(f);
      const desk = smallDesk(f, 2);
      await partPaid(f, desk, [alice, bob]);
      const sent = await sentBy(f);
      // After each round, alice and bob deposit 1 wei: a deposit no longer empty, as if they could pay.
      for (const caller of [alice, bob]) await f.escrow.connect(caller).deposit(f.s.creator.address, f.s.node.id, 1n);
      expect(await desk.redeemDue(redeemer(f))).to.equal(0);
      for (const caller of [alice, bob]) await f.escrow.connect(caller).deposit(f.s.creator.address, f.s.node.id, 1n);
      expect(await sentBy(f)).to.equal(sent);
      await f.escrow.connect(carol).deposit(f.s.creator.address, f.s.node.id, 10n * FLK);
      expect(await desk.admit(1n, 6, await signedVoucher(f.s, carol, 2n * FLK))).to.equal(undefined);
      expect(desk.due().map((d) => [d.voucher.caller, d.voucher.cumulative])).to.deep.equal([
        [bob.address, 10n * FLK],
        [carol.address, 2n * FLK],
      ]);
      // What the node forgoes with alice's channel is the 2 wei she topped up.
      expect((await f.escrow.deposits(alice.address, f.s.token, f.s.node.id)).balance).to.equal(2n);
      // The next round redeems carol's 2 tokens, not bob's 2 wei.
      expect(await desk.redeemDue(redeemer(f))).to.equal(1);
      expect(await f.escrow.redeemed(tokenChannelId({ caller: carol.address, agentId: 1n, nodeId: f.s.node.id, token: f.s.token }))).to.equal(2n * FLK);
      expect(await sentBy(f)).to.equal(sent + 1);
    });
  });
});
