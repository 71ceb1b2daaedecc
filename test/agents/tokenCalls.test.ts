/**
 * Agent calls paid in the owner's creator token (contracts/agents/TokenCallEscrow.sol,
 * docs/agents.md "Calls paid in the creator token"): deposits, EIP-712 vouchers redeemed for their
 * increase only, the marketplace's split, withdrawal after a delay, claims, and the protocol fee
 * sold on the creator's curve with its FLK burned. Real EVM, the suite deployed by Ignition.
 */
import { expect } from "chai";
import hre from "hardhat";
import { Signature, toBeHex, type Signer } from "ethers";
import { timelockSigner } from "../../testkit/deploy";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { signTokenVoucher, tokenVoucherSignatureFault } from "../../protocol/tokenVoucher";
import { registerNodes } from "../../testkit/registry";
import { signedVoucher, tokenCallSuite } from "../../testkit/tokenCalls";

const DAY = 86_400;
/** secp256k1's group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Forms of a valid signature ethers' recovery takes and OpenZeppelin's ECDSA does not, each with the node's reason. */
function malleated(signature: string): [string, RegExp][] {
  const sig = Signature.from(signature);
  const highS = toBeHex(N - BigInt(sig.s), 32).slice(2);
  return [
    [sig.r + sig.s.slice(2) + (sig.v - 27).toString(16).padStart(2, "0"), /v = [01]: it must be 27 or 28/],
    [sig.r + highS + (55 - sig.v).toString(16), /high s/],
    [sig.compactSerialized, /must be 65 bytes/],
  ];
}

/** Runtime code answering any call with the 4-byte `selector` left-aligned in a word (an ERC-1271 wallet's answer). */
function returnsWord(selector: string): string {
  // PUSH4 selector, PUSH1 0xe0, SHL, PUSH1 0, MSTORE, PUSH1 0x20, PUSH1 0, RETURN
  return `0x63${selector}60e01b60005260206000f3`;
}

describe("TokenCallEscrow", () => {
  it("is deployed by the suite with a day's withdrawal delay over the marketplace, registry and creator market", async () => {
    const s = await loadFixture(tokenCallSuite);
    const e = s.tokenCallEscrow;
    expect(await e.marketplace()).to.equal(await s.agentMarketplace.getAddress());
    expect(await e.registry()).to.equal(await s.registry.getAddress());
    expect(await e.creatorMarket()).to.equal(await s.creatorMarket.getAddress());
    expect(await e.flk()).to.equal(await s.flk.getAddress());
    expect(await e.withdrawDelay()).to.equal(BigInt(DAY));
    const factory = await hre.ethers.getContractFactory("TokenCallEscrow");
    await expect(factory.deploy(s.agentMarketplace, s.registry, 3_599)).to.be.revertedWithCustomError(e, "TokenCallBadParameter");
    await expect(factory.deploy(s.agentMarketplace, s.registry, 30 * DAY + 1)).to.be.revertedWithCustomError(e, "TokenCallBadParameter");
    await expect(factory.deploy(s.agentMarketplace, hre.ethers.ZeroAddress, DAY)).to.be.revertedWithCustomError(e, "TokenCallBadParameter");
  });

  it("takes deposits of existing creator tokens only", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await expect(e.connect(alice).deposit(alice.address, s.node.id, FLK))
      .to.be.revertedWithCustomError(e, "TokenCallNoCreatorToken")
      .withArgs(alice.address);
    await expect(e.connect(alice).deposit(s.creator.address, s.node.id, 0)).to.be.revertedWithCustomError(e, "TokenCallZeroAmount");
    await expect(e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK))
      .to.emit(e, "TokensDeposited")
      .withArgs(alice.address, s.token, s.node.id, s.creator.address, 100n * FLK);
    expect((await e.deposits(alice.address, s.token, s.node.id)).balance).to.equal(100n * FLK);
    expect(await e.creatorOf(s.token)).to.equal(s.creator.address);
  });

  it("redeems only the increase of the latest voucher, split 20/70/10 into the node operator's, the creator's and the protocol's shares", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const first = await signedVoucher(s, alice, 10n * FLK);
    expect(tokenVoucherSignatureFault(s.domain, first.voucher, first.signature)).to.equal(undefined);
    await expect(e.connect(s.node.owner).redeem(first.voucher, first.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(alice.address, 1, s.node.id, s.token, 10n * FLK, 10n * FLK, s.node.owner.address, s.creator.address, 2n * FLK, 7n * FLK, FLK);
    const second = await signedVoucher(s, alice, 25n * FLK);
    // Anyone may send it: the shares go to the node's operator and the creator whoever sends.
    await expect(e.connect(s.callers[1]).redeem(second.voucher, second.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(
        alice.address,
        1,
        s.node.id,
        s.token,
        25n * FLK,
        15n * FLK,
        s.node.owner.address,
        s.creator.address,
        3n * FLK,
        10_500_000_000_000_000_000n,
        1_500_000_000_000_000_000n,
      );
    expect((await e.deposits(alice.address, s.token, s.node.id)).balance).to.equal(75n * FLK);
    expect(await e.earnings(s.token, s.node.owner.address)).to.equal(5n * FLK);
    expect(await e.earnings(s.token, s.creator.address)).to.equal(17_500_000_000_000_000_000n);
    expect(await e.protocolFees(s.token)).to.equal(2_500_000_000_000_000_000n);
    // The replay and an older voucher pay nothing.
    await expect(e.redeem(second.voucher, second.signature))
      .to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem")
      .withArgs(25n * FLK, 25n * FLK, 75n * FLK);
    await expect(e.redeem(first.voucher, first.signature))
      .to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem")
      .withArgs(10n * FLK, 25n * FLK, 75n * FLK);
    // Another node's channel is its own: the same caller's voucher there starts from zero.
    expect(await e.redeemed(await e.channelId(alice.address, 1, s.node.id, s.token))).to.equal(25n * FLK);
    expect(await e.redeemed(await e.channelId(alice.address, 1, s.node.id + 1, s.token))).to.equal(0n);
  });

  it("splits odd amounts exactly: owner and protocol shares round down, the node gets the rest", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const v = await signedVoucher(s, alice, 9_999n);
    // 9,999 × 0.7 = 6,999.3 → 6,999; × 0.1 = 999.9 → 999; the node 9,999 − 6,999 − 999 = 2,001.
    await expect(e.redeem(v.voucher, v.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(alice.address, 1, s.node.id, s.token, 9_999n, 9_999n, s.node.owner.address, s.creator.address, 2_001n, 6_999n, 999n);
  });

  it("refuses a voucher signed by anyone but its caller, or altered after signing", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice, bob] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const forged = await signedVoucher(s, alice, 10n * FLK, { signer: bob });
    expect(tokenVoucherSignatureFault(s.domain, forged.voucher, forged.signature)).to.match(/not signed by its caller/);
    await expect(e.redeem(forged.voucher, forged.signature)).to.be.revertedWithCustomError(e, "TokenCallBadSignature").withArgs(alice.address);
    const real = await signedVoucher(s, alice, 10n * FLK);
    await expect(e.redeem({ ...real.voucher, cumulative: 50n * FLK }, real.signature)).to.be.revertedWithCustomError(e, "TokenCallBadSignature");
    await expect(e.redeem({ ...real.voucher, nodeId: s.node.id + 1 }, real.signature)).to.be.revertedWithCustomError(e, "TokenCallBadSignature");
    await expect(e.redeem(real.voucher, "0x1234")).to.be.revertedWithCustomError(e, "TokenCallBadSignature");
    expect((await e.deposits(alice.address, s.token, s.node.id)).balance).to.equal(100n * FLK);
  });

  it("recovers one ECDSA form, the one nodes admit: v 0/1, high-s and 64-byte forms of the caller's signature are refused on both sides", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const good = await signedVoucher(s, alice, 10n * FLK);
    for (const [signature, reason] of malleated(good.signature)) {
      expect(tokenVoucherSignatureFault(s.domain, good.voucher, signature)).to.match(reason);
      await expect(e.redeem(good.voucher, signature)).to.be.revertedWithCustomError(e, "TokenCallBadSignature").withArgs(alice.address);
    }
    // A wallet answering those forms gets its signature signed in the one form.
    for (const [answer] of malleated(good.signature).slice(0, 2)) {
      const wallet = { signTypedData: async () => answer } as unknown as Signer;
      expect(await signTokenVoucher(wallet, s.domain, good.voucher)).to.equal(good.signature);
    }
    await expect(e.redeem(good.voucher, good.signature)).to.emit(e, "VoucherRedeemed");
  });

  it("redeems the caller's ECDSA voucher though its address has code that refuses it (EIP-7702 delegation), and asks code only for other signatures", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice, bob] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    await e.connect(bob).deposit(s.creator.address, s.node.id, 100n * FLK);
    const v = await signedVoucher(s, alice, 10n * FLK);
    await hre.network.provider.send("hardhat_setCode", [alice.address, returnsWord("ffffffff")]);
    await expect(e.redeem(v.voucher, v.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(alice.address, 1, s.node.id, s.token, 10n * FLK, 10n * FLK, s.node.owner.address, s.creator.address, 2n * FLK, 7n * FLK, FLK);
    // Not alice's key's signature: her code is asked, and refuses.
    const byBob = await signedVoucher(s, alice, 20n * FLK, { signer: bob });
    await expect(e.redeem(byBob.voucher, byBob.signature)).to.be.revertedWithCustomError(e, "TokenCallBadSignature").withArgs(alice.address);
    // A contract caller (ERC-1271) still signs with its code: bob's says yes to anything.
    await hre.network.provider.send("hardhat_setCode", [bob.address, returnsWord("1626ba7e")]);
    const contractSigned = { ...v.voucher, caller: bob.address };
    await expect(e.redeem(contractSigned, "0x1234")).to.emit(e, "VoucherRedeemed");
  });

  it("pays a voucher above the deposit only what the deposit holds, and the rest once the caller deposits again", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 5n * FLK);
    const v = await signedVoucher(s, alice, 8n * FLK);
    await expect(e.redeem(v.voucher, v.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(
        alice.address,
        1,
        s.node.id,
        s.token,
        8n * FLK,
        5n * FLK,
        s.node.owner.address,
        s.creator.address,
        FLK,
        3_500_000_000_000_000_000n,
        500_000_000_000_000_000n,
      );
    await expect(e.redeem(v.voucher, v.signature))
      .to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem")
      .withArgs(8n * FLK, 5n * FLK, 0n);
    await e.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    await expect(e.redeem(v.voucher, v.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(
        alice.address,
        1,
        s.node.id,
        s.token,
        8n * FLK,
        3n * FLK,
        s.node.owner.address,
        s.creator.address,
        600_000_000_000_000_000n,
        2_100_000_000_000_000_000n,
        300_000_000_000_000_000n,
      );
    expect((await e.deposits(alice.address, s.token, s.node.id)).balance).to.equal(7n * FLK);
  });

  it("a voucher in a token the caller never deposited pays nothing; a deposit for an unknown node is refused", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 5n * FLK);
    const other = await s.creatorMarket.tokenOf(alice.address);
    const v = await signedVoucher(s, alice, FLK, { token: other });
    await expect(e.redeem(v.voucher, v.signature)).to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem").withArgs(FLK, 0n, 0n);
    const ghost = await signedVoucher(s, alice, FLK, { nodeId: 99 });
    await expect(e.redeem(ghost.voucher, ghost.signature)).to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem").withArgs(FLK, 0n, 0n);
    await expect(e.connect(alice).deposit(s.creator.address, 99, FLK))
      .to.be.revertedWithCustomError(e, "TokenCallUnknownNode")
      .withArgs(99);
    await expect(e.connect(alice).deposit(s.creator.address, 0, FLK))
      .to.be.revertedWithCustomError(e, "TokenCallUnknownNode")
      .withArgs(0);
  });

  it("pays a node only from the deposit made for it: one deposit vouched to two nodes pays one of them", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    const [b] = await registerNodes(s, 1, undefined, 1);
    // Alice deposits 10 for node A and vouches 10 to node A and 10 to node B.
    await e.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    const toB = await signedVoucher(s, alice, 10n * FLK, { nodeId: b.id });
    const toA = await signedVoucher(s, alice, 10n * FLK);
    // B redeeming first takes nothing of A's deposit.
    await expect(e.redeem(toB.voucher, toB.signature))
      .to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem")
      .withArgs(10n * FLK, 0n, 0n);
    expect((await e.deposits(alice.address, s.token, s.node.id)).balance).to.equal(10n * FLK);
    await expect(e.redeem(toA.voucher, toA.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(alice.address, 1, s.node.id, s.token, 10n * FLK, 10n * FLK, s.node.owner.address, s.creator.address, 2n * FLK, 7n * FLK, FLK);
    expect(await e.earnings(s.token, b.owner.address)).to.equal(0n);
    // A deposit for B pays B's voucher, up to that deposit.
    await e.connect(alice).deposit(s.creator.address, b.id, 4n * FLK);
    await expect(e.redeem(toB.voucher, toB.signature))
      .to.emit(e, "VoucherRedeemed")
      .withArgs(
        alice.address,
        1,
        b.id,
        s.token,
        10n * FLK,
        4n * FLK,
        b.owner.address,
        s.creator.address,
        800_000_000_000_000_000n,
        2_800_000_000_000_000_000n,
        400_000_000_000_000_000n,
      );
    expect(await e.deposits(alice.address, s.token, s.node.id)).to.deep.equal([0n, 0n, 0n]);
    expect(await e.deposits(alice.address, s.token, b.id)).to.deep.equal([0n, 0n, 0n]);
  });

  it("withdraws each node's deposit on its own: a request for one node neither limits nor frees another", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    const [b] = await registerNodes(s, 1, undefined, 1);
    await e.connect(alice).deposit(s.creator.address, s.node.id, 10n * FLK);
    await expect(e.connect(alice).deposit(s.creator.address, b.id, 6n * FLK))
      .to.emit(e, "TokensDeposited")
      .withArgs(alice.address, s.token, b.id, s.creator.address, 6n * FLK);
    await expect(e.connect(alice).requestWithdrawal(s.token, b.id, 7n * FLK))
      .to.be.revertedWithCustomError(e, "TokenCallExceedsDeposit")
      .withArgs(7n * FLK, 6n * FLK);
    const tx = e.connect(alice).requestWithdrawal(s.token, b.id, 6n * FLK);
    const readyAt = BigInt((await time.latest()) + 1 + DAY);
    await expect(tx)
      .to.emit(e, "WithdrawalRequested")
      .withArgs(alice.address, s.token, b.id, 6n * FLK, readyAt);
    expect(await e.deposits(alice.address, s.token, b.id)).to.deep.equal([6n * FLK, 6n * FLK, readyAt]);
    expect(await e.deposits(alice.address, s.token, s.node.id)).to.deep.equal([10n * FLK, 0n, 0n]);
    await time.increaseTo(readyAt);
    // A's deposit has no request of its own: B's does not free it.
    await expect(e.connect(alice).withdraw(s.token, s.node.id)).to.be.revertedWithCustomError(e, "TokenCallWithdrawalNotReady").withArgs(0);
    const before = await erc20.balanceOf(alice.address);
    await expect(e.connect(alice).withdraw(s.token, b.id))
      .to.emit(e, "TokensWithdrawn")
      .withArgs(alice.address, s.token, b.id, 6n * FLK);
    expect((await erc20.balanceOf(alice.address)) - before).to.equal(6n * FLK);
    expect(await e.deposits(alice.address, s.token, b.id)).to.deep.equal([0n, 0n, 0n]);
    expect(await e.deposits(alice.address, s.token, s.node.id)).to.deep.equal([10n * FLK, 0n, 0n]);
  });

  it("lets a deposit leave only after the delay, and a node redeems what it served meanwhile", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    await expect(e.connect(alice).requestWithdrawal(s.token, s.node.id, 101n * FLK))
      .to.be.revertedWithCustomError(e, "TokenCallExceedsDeposit")
      .withArgs(101n * FLK, 100n * FLK);
    await expect(e.connect(alice).withdraw(s.token, s.node.id)).to.be.revertedWithCustomError(e, "TokenCallWithdrawalNotReady").withArgs(0);
    const tx = e.connect(alice).requestWithdrawal(s.token, s.node.id, 100n * FLK);
    const readyAt = BigInt((await time.latest()) + 1 + DAY);
    await expect(tx)
      .to.emit(e, "WithdrawalRequested")
      .withArgs(alice.address, s.token, s.node.id, 100n * FLK, readyAt);
    // The caller races the node: its withdrawal waits, the node's redemption does not.
    await expect(e.connect(alice).withdraw(s.token, s.node.id)).to.be.revertedWithCustomError(e, "TokenCallWithdrawalNotReady").withArgs(readyAt);
    const v = await signedVoucher(s, alice, 30n * FLK);
    await e.connect(s.node.owner).redeem(v.voucher, v.signature);
    await time.setNextBlockTimestamp(readyAt - 1n);
    await expect(e.connect(alice).withdraw(s.token, s.node.id)).to.be.revertedWithCustomError(e, "TokenCallWithdrawalNotReady");
    const before = await erc20.balanceOf(alice.address);
    await expect(e.connect(alice).withdraw(s.token, s.node.id))
      .to.emit(e, "TokensWithdrawn")
      .withArgs(alice.address, s.token, s.node.id, 70n * FLK);
    expect((await erc20.balanceOf(alice.address)) - before).to.equal(70n * FLK);
    expect(await e.deposits(alice.address, s.token, s.node.id)).to.deep.equal([0n, 0n, 0n]);
    const later = await signedVoucher(s, alice, 200n * FLK);
    await expect(e.redeem(later.voucher, later.signature)).to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem");
  });

  it("pays earnings on claim only (pull) and refuses an empty claim", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const v = await signedVoucher(s, alice, 10n * FLK);
    await e.redeem(v.voucher, v.signature);
    const opBefore = await erc20.balanceOf(s.node.owner.address);
    await expect(e.connect(s.node.owner).claim(s.token))
      .to.emit(e, "EarningsClaimed")
      .withArgs(s.node.owner.address, s.token, 2n * FLK);
    expect((await erc20.balanceOf(s.node.owner.address)) - opBefore).to.equal(2n * FLK);
    await expect(e.connect(s.node.owner).claim(s.token)).to.be.revertedWithCustomError(e, "TokenCallZeroAmount");
    await expect(e.connect(s.creator).claim(s.token))
      .to.emit(e, "EarningsClaimed")
      .withArgs(s.creator.address, s.token, 7n * FLK);
  });

  it("sells the protocol fee on the creator's curve and burns the FLK it returns", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    await expect(e.burnFees(s.token, 0, hre.ethers.MaxUint256)).to.be.revertedWithCustomError(e, "TokenCallZeroAmount");
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const v = await signedVoucher(s, alice, 100n * FLK);
    await e.redeem(v.voucher, v.signature);
    const [quote] = await s.creatorMarket.sellReturn(s.creator.address, 10n * FLK);
    const flkSupply = await s.flk.totalSupply();
    const tokenSupply = await erc20.totalSupply();
    await expect(e.burnFees(s.token, quote + 1n, hre.ethers.MaxUint256)).to.be.revertedWithCustomError(s.creatorMarket, "CreatorMarketMinReturn");
    await expect(e.burnFees(s.token, quote, hre.ethers.MaxUint256))
      .to.emit(e, "FeesBurned")
      .withArgs(s.token, 10n * FLK, quote);
    expect(await e.protocolFees(s.token)).to.equal(0n);
    expect(await erc20.totalSupply()).to.equal(tokenSupply - 10n * FLK);
    // The sale's FLK is burned, and so is the curve's burn fee on it: supply falls by at least the proceeds.
    expect(flkSupply - (await s.flk.totalSupply()) >= quote).to.equal(true);
    expect(await s.flk.balanceOf(await e.getAddress())).to.equal(0n);
    // The escrow holds exactly what is still owed: the deposit left and the two shares to claim.
    expect(await erc20.balanceOf(await e.getAddress())).to.equal(90n * FLK);
  });

  it("sells fees only for governance or the fee seller it names: anyone else could sandwich the sale between a sale and a buy-back of its own", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice, mallory] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const v = await signedVoucher(s, alice, 100n * FLK);
    await e.redeem(v.voucher, v.signature);
    // Mallory's sandwich: sell first (the curve's price falls), have the fees sold at any price, buy back cheaper.
    await s.creatorMarket.connect(mallory).sell(s.creator.address, 500n * FLK, 0, hre.ethers.MaxUint256);
    await expect(e.connect(mallory).burnFees(s.token, 0, hre.ethers.MaxUint256))
      .to.be.revertedWithCustomError(e, "TokenCallUnauthorized")
      .withArgs(mallory.address);
    await expect(e.connect(mallory).setFeeSeller(mallory.address)).to.be.revertedWithCustomError(e, "TokenCallUnauthorized").withArgs(mallory.address);
    expect(await e.protocolFees(s.token)).to.equal(10n * FLK, "the fees are still there");
    // Governance sells itself, or names (and replaces) the keeper that does.
    const gov = await timelockSigner(s);
    await expect(e.connect(gov).setFeeSeller(alice.address)).to.emit(e, "FeeSellerSet").withArgs(alice.address);
    await expect(e.connect(alice).burnFees(s.token, 0, hre.ethers.MaxUint256)).to.emit(e, "FeesBurned");
    await expect(e.burnFees(s.token, 0, hre.ethers.MaxUint256), "the former seller").to.be.revertedWithCustomError(e, "TokenCallUnauthorized");
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const w = await signedVoucher(s, alice, 200n * FLK);
    await e.redeem(w.voucher, w.signature);
    await expect(e.connect(gov).burnFees(s.token, 0, hre.ethers.MaxUint256)).to.emit(e, "FeesBurned");
  });

  it("redeems a channel's latest voucher, whatever the calls it covers, in under 200k gas (first of a channel: new storage slots)", async () => {
    const s = await loadFixture(tokenCallSuite);
    const [alice] = s.callers;
    const e = s.tokenCallEscrow;
    await e.connect(alice).deposit(s.creator.address, s.node.id, 100n * FLK);
    const first = await signedVoucher(s, alice, 10n * FLK);
    const cold = (await (await e.redeem(first.voucher, first.signature)).wait())!.gasUsed;
    const next = await signedVoucher(s, alice, 20n * FLK);
    const warm = (await (await e.redeem(next.voucher, next.signature)).wait())!.gasUsed;
    console.log(`      redeem: first of a channel ${cold} gas, next ${warm} gas`);
    expect(cold < 200_000n && warm < cold).to.equal(true);
  });
});
