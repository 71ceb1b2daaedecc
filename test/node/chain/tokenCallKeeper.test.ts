/**
 * The token-call redemption keeper (node/chain/tokenCallKeeper.ts) against TokenCallEscrow on
 * Hardhat: the node's id comes from the registry by its key; a voucher the desk admitted is
 * redeemed at once when its caller asks its deposit back, and on the keeper's period otherwise; a
 * voucher admitted before a restart is redeemed after it.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { loadFixture, setBalance } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startTokenCalls, type TokenCalls } from "../../../node/chain/tokenCallKeeper";
import { Logger } from "../../../node/logger";
import { FLK } from "../../../protocol/units";
import { tokenChannelId } from "../../../protocol/tokenVoucher";
import { signedVoucher, tokenDeskSuite } from "../../../testkit/tokenCalls";
import { eventually } from "../consensus/cluster";

type DeskSuite = Awaited<ReturnType<typeof tokenDeskSuite>>;

async function start(
  d: DeskSuite,
  o: { redeemEveryMs: number; watchMs: number; nodeKey?: string; dataDir?: string; minRedeem?: bigint },
): Promise<TokenCalls | undefined> {
  const provider = hre.ethers.provider;
  await setBalance(d.s.node.signer.address, 10n ** 18n);
  return startTokenCalls({
    provider,
    chainId: (await provider.getNetwork()).chainId,
    registry: await d.s.registry.getAddress(),
    nodeKey: o.nodeKey ?? d.s.node.key.slice(2),
    escrow: await d.escrow.getAddress(),
    dataDir: o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "token-calls-")),
    signer: d.s.node.signer,
    marketId: (agent) => (agent === "counter" ? 1n : undefined),
    currentEpochStart: async () => ({ epoch: 6, startBlock: await provider.getBlockNumber() }),
    redeemEveryMs: o.redeemEveryMs,
    watchMs: o.watchMs,
    minRedeem: o.minRedeem,
    logger: new Logger({}, Infinity),
  });
}

describe("token-call redemption keeper", function () {
  this.timeout(120_000);

  it("reads the node's id from the registry by its key, and is off for a key the registry does not know", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const calls = await start(d, { redeemEveryMs: 3_600_000, watchMs: 3_600_000 });
    try {
      expect(calls!.paid.nodeId).to.equal(d.s.node.id);
      expect(calls!.paid.marketId("counter")).to.equal(1n);
      expect(await calls!.paid.epoch()).to.equal(6);
    } finally {
      await calls?.close();
    }
    expect(await start(d, { redeemEveryMs: 3_600_000, watchMs: 3_600_000, nodeKey: "ab".repeat(32) })).to.equal(undefined);
  });

  it("redeems at once when the caller asks its deposit back (the period is an hour), however small the voucher", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const [alice] = d.s.callers;
    await d.escrow.connect(alice).deposit(d.s.creator.address, d.s.node.id, 10n * FLK);
    // A voucher of 2 tokens, under the 100 a redemption must otherwise pay: the withdrawal request still has it redeemed.
    const calls = (await start(d, { redeemEveryMs: 3_600_000, watchMs: 200, minRedeem: 100n * FLK }))!;
    try {
      const v = await signedVoucher(d.s, alice, 2n * FLK);
      expect(await calls.desk.admit(1n, 6, v)).to.equal(undefined);
      await d.escrow.connect(alice).requestWithdrawal(d.s.token, d.s.node.id, 10n * FLK);
      await eventually("the voucher redeemed", async () => (await d.escrow.redeemed(tokenChannelId(v.voucher))) === 2n * FLK);
      // 20% of 2 tokens to the node's operator, 70% to the creator (docs/agents.md: the split 20/70/10).
      expect(await d.escrow.earnings(d.s.token, d.s.node.owner.address)).to.equal(400_000_000_000_000_000n);
      expect(await d.escrow.earnings(d.s.token, d.s.creator.address)).to.equal(1_400_000_000_000_000_000n);
    } finally {
      await calls.close();
    }
  });

  it("redeems on its period without a withdrawal request", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const [, bob] = d.s.callers;
    await d.escrow.connect(bob).deposit(d.s.creator.address, d.s.node.id, 10n * FLK);
    const calls = (await start(d, { redeemEveryMs: 500, watchMs: 3_600_000 }))!;
    try {
      const first = await signedVoucher(d.s, bob, 2n * FLK);
      expect(await calls.desk.admit(1n, 6, first)).to.equal(undefined);
      await eventually("the voucher redeemed", async () => (await d.escrow.redeemed(tokenChannelId(first.voucher))) === 2n * FLK);
      const second = await signedVoucher(d.s, bob, 4n * FLK);
      expect(await calls.desk.admit(1n, 6, second)).to.equal(undefined);
      await eventually("the second voucher redeemed", async () => (await d.escrow.redeemed(tokenChannelId(second.voucher))) === 4n * FLK);
      expect(await d.escrow.earnings(d.s.token, d.s.node.owner.address)).to.equal(800_000_000_000_000_000n);
    } finally {
      await calls.close();
    }
  });

  it("redeems after a restart a voucher admitted before it, and the operator's balance in the token rises by its share", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const [alice] = d.s.callers;
    const token = await hre.ethers.getContractAt("IERC20", d.s.token);
    await d.escrow.connect(alice).deposit(d.s.creator.address, d.s.node.id, 10n * FLK);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "token-calls-"));
    // No redemption before the restart: the period is an hour and nobody asks its deposit back.
    const before = (await start(d, { redeemEveryMs: 3_600_000, watchMs: 3_600_000, dataDir }))!;
    const v = await signedVoucher(d.s, alice, 6n * FLK);
    expect(await before.desk.admit(1n, 6, v)).to.equal(undefined);
    await before.close();
    expect(await d.escrow.redeemed(tokenChannelId(v.voucher))).to.equal(0n);

    const after = (await start(d, { redeemEveryMs: 200, watchMs: 3_600_000, dataDir }))!;
    try {
      await eventually("the voucher redeemed after the restart", async () => (await d.escrow.redeemed(tokenChannelId(v.voucher))) === 6n * FLK);
      // 20% of 6 tokens to the node's operator (docs/agents.md: the split 20/70/10), claimed into its wallet.
      const held = await token.balanceOf(d.s.node.owner.address);
      await d.escrow.connect(d.s.node.owner).claim(d.s.token);
      expect((await token.balanceOf(d.s.node.owner.address)) - held).to.equal(1_200_000_000_000_000_000n);
      await eventually("the settled channel forgotten", async () => after.desk.due().length === 0);
    } finally {
      await after.close();
    }
  });
});
