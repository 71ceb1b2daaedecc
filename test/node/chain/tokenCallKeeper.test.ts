/**
 * The token-call redemption keeper (node/chain/tokenCallKeeper.ts) against TokenCallEscrow on
 * Hardhat: the node's id comes from the registry by its key; a voucher the desk admitted is
 * redeemed at once when its caller asks its deposit back, and on the keeper's period otherwise.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, setBalance } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startTokenCalls, type TokenCalls } from "../../../node/chain/tokenCallKeeper";
import { Logger } from "../../../node/logger";
import { FLK } from "../../../protocol/units";
import { tokenChannelId } from "../../../protocol/tokenVoucher";
import { signedVoucher, tokenDeskSuite } from "../../../testkit/tokenCalls";
import { eventually } from "../consensus/cluster";

type DeskSuite = Awaited<ReturnType<typeof tokenDeskSuite>>;

async function start(d: DeskSuite, o: { redeemEveryMs: number; watchMs: number; nodeKey?: string }): Promise<TokenCalls | undefined> {
  const provider = hre.ethers.provider;
  await setBalance(d.s.node.signer.address, 10n ** 18n);
  return startTokenCalls({
    provider,
    chainId: (await provider.getNetwork()).chainId,
    registry: await d.s.registry.getAddress(),
    nodeKey: o.nodeKey ?? d.s.node.key.slice(2),
    escrow: await d.escrow.getAddress(),
    signer: d.s.node.signer,
    marketId: (agent) => (agent === "counter" ? 1n : undefined),
    currentEpochStart: async () => ({ epoch: 6, startBlock: await provider.getBlockNumber() }),
    redeemEveryMs: o.redeemEveryMs,
    watchMs: o.watchMs,
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
      calls?.close();
    }
    expect(await start(d, { redeemEveryMs: 3_600_000, watchMs: 3_600_000, nodeKey: "ab".repeat(32) })).to.equal(undefined);
  });

  it("redeems at once when the caller asks its deposit back (the period is an hour)", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const [alice] = d.s.callers;
    await d.escrow.connect(alice).deposit(d.s.creator.address, 10n * FLK);
    const calls = (await start(d, { redeemEveryMs: 3_600_000, watchMs: 200 }))!;
    try {
      const v = await signedVoucher(d.s, alice, 2n * FLK);
      expect(await calls.desk.admit(1n, 6, v)).to.equal(undefined);
      await d.escrow.connect(alice).requestWithdrawal(d.s.token, 10n * FLK);
      await eventually("the voucher redeemed", async () => (await d.escrow.redeemed(tokenChannelId(v.voucher))) === 2n * FLK);
      // 20% of 2 tokens to the node's operator, 70% to the creator (docs/agents.md: the split 20/70/10).
      expect(await d.escrow.earnings(d.s.token, d.s.node.owner.address)).to.equal(400_000_000_000_000_000n);
      expect(await d.escrow.earnings(d.s.token, d.s.creator.address)).to.equal(1_400_000_000_000_000_000n);
    } finally {
      calls.close();
    }
  });

  it("redeems on its period without a withdrawal request", async () => {
    const d = await loadFixture(tokenDeskSuite);
    const [, bob] = d.s.callers;
    await d.escrow.connect(bob).deposit(d.s.creator.address, 10n * FLK);
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
      calls.close();
    }
  });
});
