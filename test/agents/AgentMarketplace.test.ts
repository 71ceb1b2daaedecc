/**
 * The agent marketplace (contracts/agents/AgentMarketplace.sol, docs/agents.md): deployed and
 * wired by the suite's Ignition module; agents and versions; prices fixed per epoch (a price change
 * racing a call in flight never reaches it); token prices only in the owner's creator token;
 * pausing; leases; the governed split and hosting prices; settlement by the escrow only, once per
 * epoch, with the owner share credited for withdrawal and the protocol fee deposited into the
 * buyback; and every revert path.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { deploySuite, suiteContracts, timelockSigner } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";
import { marketFixture, ROOT_A, ROOT_B, USDC } from "./fixtures";

const ZERO32 = `0x${"00".repeat(32)}`;
const ZERO = hre.ethers.ZeroAddress;

describe("AgentMarketplace", () => {
  describe("deployment", () => {
    it("is deployed by the Fleek module, owned by the timelock and wired to USDC, the registry, the creator market, the escrow (both ways) and the buyback", async () => {
      const suite = await loadFixture(deploySuite);
      const m = suite.agentMarketplace;
      const address = await m.getAddress();
      expect((await suiteContracts(suite)).AgentMarketplace).to.equal(address);
      expect(await m.owner()).to.equal(suite.admin);
      expect(await m.usdc()).to.equal(await suite.usdc.getAddress());
      expect(await m.clock()).to.equal(await suite.registry.getAddress());
      // The escrow hands agent revenue to it (docs/agents.md "Settlement").
      expect(await suite.escrow.marketplace()).to.equal(address);
      expect(await m.creatorMarket()).to.equal(await suite.creatorMarket.getAddress());
      expect(await m.escrow()).to.equal(await suite.escrow.getAddress());
      expect(await m.buyback()).to.equal(await suite.buyback.getAddress());
      // Defaults: 20% nodes, 70% owner, 10% burned; $0.007 per GiB-hour, the escrow's $0.02 per
      // million CPU-ms, $0.001 per 1,000 LLM tokens.
      expect(await m.split()).to.deep.equal([2_000n, 7_000n, 1_000n]);
      expect(await m.hostingPrices()).to.deep.equal([7_000n, 20_000n, 1_000n]);
      const code = await hre.ethers.provider.getCode(address);
      const bytes = (code.length - 2) / 2;
      expect(bytes).to.be.greaterThan(2_048);
      expect(bytes).to.be.lessThan(24_576 - 2_048);
    });

    it("reads its epoch from the registry: a price set now applies from the registry's next epoch", async () => {
      const suite = await loadFixture(deploySuite);
      const [, dev] = await hre.ethers.getSigners();
      const epoch = await suite.registry.epoch();
      await expect(suite.agentMarketplace.connect(dev).register("echo", ROOT_A, ROOT_B, 128, 50_000))
        .to.emit(suite.agentMarketplace, "ListingPriceSet")
        .withArgs(1, 50_000, ZERO, 0, epoch + 1n);
      expect((await suite.agentMarketplace.priceAt(1, epoch))[0]).to.equal(0n);
      expect((await suite.agentMarketplace.priceAt(1, epoch + 1n))[0]).to.equal(50_000n);
    });

    it("takes its compute price per CPU-ms from the escrow: governance changes it there", async () => {
      const suite = await loadFixture(deploySuite);
      const admin = await timelockSigner(suite);
      await suite.escrow.connect(admin).setComputePrices(300_000, 45_000);
      expect(await suite.agentMarketplace.hostingPrices()).to.deep.equal([7_000n, 45_000n, 1_000n]);
    });

    it("refuses a payment token without 6 decimals, a zero clock or market, and zero settlement addresses", async () => {
      const s = await loadFixture(marketFixture);
      const factory = await hre.ethers.getContractFactory("AgentMarketplace");
      const eighteen = await (await hre.ethers.getContractFactory("PlainERC20")).deploy(s.gov.address, 1n);
      const { usdc, clock, creatorMarket, escrow, buyback } = s;
      const owner = s.gov.address;
      await expect(factory.deploy(eighteen, clock, creatorMarket, owner, escrow, buyback)).to.be.revertedWithCustomError(s.market, "AgentMarketBadParameter");
      await expect(factory.deploy(usdc, ZERO, creatorMarket, owner, escrow, buyback)).to.be.revertedWithCustomError(s.market, "AgentMarketBadParameter");
      await expect(factory.deploy(usdc, clock, ZERO, owner, escrow, buyback)).to.be.revertedWithCustomError(s.market, "AgentMarketBadParameter");
      await expect(factory.deploy(usdc, clock, creatorMarket, owner, ZERO, buyback)).to.be.revertedWithCustomError(s.market, "AgentMarketBadParameter");
      await expect(factory.deploy(usdc, clock, creatorMarket, owner, escrow, ZERO)).to.be.revertedWithCustomError(s.market, "AgentMarketBadParameter");
    });
  });

  describe("agents", () => {
    it("registers an agent with its first version, lease and price; publishes versions; transfers it", async () => {
      const { market, owners } = await loadFixture(marketFixture);
      const [alice, bob] = owners;
      await expect(market.connect(alice).register("Research assistant", ROOT_A, ROOT_B, 256, 10_000))
        .to.emit(market, "AgentRegistered")
        .withArgs(1, alice.address, "Research assistant")
        .and.to.emit(market, "AgentVersionPublished")
        .withArgs(1, 1, ROOT_A, ROOT_B)
        .and.to.emit(market, "LeaseSet")
        .withArgs(1, 256)
        .and.to.emit(market, "ListingPriceSet")
        .withArgs(1, 10_000, ZERO, 0, 6);
      await expect(market.connect(alice).publish(1, ROOT_B, ROOT_A))
        .to.emit(market, "AgentVersionPublished")
        .withArgs(1, 2, ROOT_B, ROOT_A);
      const a = await market.agents(1);
      expect([a.owner, a.versionCount, a.memoryMiB, a.name]).to.deep.equal([alice.address, 2n, 256n, "Research assistant"]);
      const v2 = await market.versionOf(1, 2);
      expect([v2.configRoot, v2.bundleRoot, v2.publishedAt]).to.deep.equal([ROOT_B, ROOT_A, BigInt(await time.latest())]);
      await expect(market.connect(alice).setLease(1, 4_096)).to.emit(market, "LeaseSet").withArgs(1, 4_096);
      await expect(market.connect(alice).transferAgent(1, bob.address)).to.emit(market, "AgentOwnerChanged").withArgs(1, alice.address, bob.address);
      expect((await market.agents(1)).owner).to.equal(bob.address);
      // The previous owner lost every right; the new one has them.
      await expect(market.connect(alice).publish(1, ROOT_A, ROOT_A))
        .to.be.revertedWithCustomError(market, "AgentMarketNotOwner")
        .withArgs(1, alice.address);
      await expect(market.connect(bob).publish(1, ROOT_A, ROOT_A))
        .to.emit(market, "AgentVersionPublished")
        .withArgs(1, 3, ROOT_A, ROOT_A);
      expect(await market.agentCount()).to.equal(1n);
    });

    it("refuses bad names, zero roots, bad leases, strangers, unknown agents and versions, a zero new owner", async () => {
      const { market, owners } = await loadFixture(marketFixture);
      const [alice, bob] = owners;
      await expect(market.connect(alice).register("", ROOT_A, ROOT_B, 128, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadName");
      await expect(market.connect(alice).register("a".repeat(65), ROOT_A, ROOT_B, 128, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadName");
      await expect(market.connect(alice).register("a", ZERO32, ROOT_B, 128, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadRoot");
      await expect(market.connect(alice).register("a", ROOT_A, ZERO32, 128, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadRoot");
      await expect(market.connect(alice).register("a", ROOT_A, ROOT_B, 0, 0))
        .to.be.revertedWithCustomError(market, "AgentMarketBadLease")
        .withArgs(0);
      await expect(market.connect(alice).register("a", ROOT_A, ROOT_B, 4_097, 0))
        .to.be.revertedWithCustomError(market, "AgentMarketBadLease")
        .withArgs(4_097);
      await expect(market.connect(alice).register("a", ROOT_A, ROOT_B, 128, 1_000n * USDC + 1n)).to.be.revertedWithCustomError(market, "AgentMarketBadPrice");
      // The bounds themselves are accepted (64 bytes, 4 GiB, 1,000 USDC).
      await market.connect(alice).register("é".repeat(32), ROOT_A, ROOT_B, 4_096, 1_000n * USDC);
      await expect(market.connect(bob).publish(1, ROOT_A, ROOT_B))
        .to.be.revertedWithCustomError(market, "AgentMarketNotOwner")
        .withArgs(1, bob.address);
      await expect(market.connect(bob).setLease(1, 1)).to.be.revertedWithCustomError(market, "AgentMarketNotOwner");
      await expect(market.connect(bob).setPrice(1, 1, 0)).to.be.revertedWithCustomError(market, "AgentMarketNotOwner");
      await expect(market.connect(bob).setPaused(1, true)).to.be.revertedWithCustomError(market, "AgentMarketNotOwner");
      await expect(market.connect(bob).transferAgent(1, bob.address)).to.be.revertedWithCustomError(market, "AgentMarketNotOwner");
      await expect(market.connect(alice).publish(2, ROOT_A, ROOT_B))
        .to.be.revertedWithCustomError(market, "AgentMarketUnknown")
        .withArgs(2);
      await expect(market.connect(alice).publish(1, ZERO32, ROOT_B)).to.be.revertedWithCustomError(market, "AgentMarketBadRoot");
      await expect(market.connect(alice).setLease(1, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadLease").withArgs(0);
      await expect(market.connect(alice).transferAgent(1, ZERO)).to.be.revertedWithCustomError(market, "AgentMarketZeroOwner");
      await expect(market.versionOf(1, 0)).to.be.revertedWithCustomError(market, "AgentMarketUnknownVersion").withArgs(1, 0);
      await expect(market.versionOf(1, 2)).to.be.revertedWithCustomError(market, "AgentMarketUnknownVersion").withArgs(1, 2);
      await expect(market.priceAt(2, 5)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(2);
    });
  });

  describe("listings", () => {
    it("fixes each epoch's price at its start: a change racing a call in flight applies from the next epoch only", async () => {
      const { market, clock, owners } = await loadFixture(marketFixture);
      const [alice] = owners;
      await market.connect(alice).register("a", ROOT_A, ROOT_B, 128, 10_000); // epoch 5
      await clock.setEpoch(6);
      // A call is served in epoch 6 at 0.01 USDC; the owner raises the price mid-epoch.
      expect(await market.priceAt(1, 6)).to.deep.equal([10_000n, ZERO, 0n]);
      await expect(market.connect(alice).setPrice(1, 900_000, 0))
        .to.emit(market, "ListingPriceSet")
        .withArgs(1, 900_000, ZERO, 0, 7);
      expect((await market.priceAt(1, 6))[0]).to.equal(10_000n);
      expect((await market.priceAt(1, 7))[0]).to.equal(900_000n);
      // A second change in the same epoch replaces the pending one, still from epoch 7.
      await market.connect(alice).setPrice(1, 20_000, 0);
      expect((await market.priceAt(1, 6))[0]).to.equal(10_000n);
      expect((await market.priceAt(1, 7))[0]).to.equal(20_000n);
      // Later epochs: the pending price becomes the current one, and the next change waits again.
      await clock.setEpoch(9);
      await market.connect(alice).setPrice(1, 0, 0);
      expect((await market.priceAt(1, 9))[0]).to.equal(20_000n);
      expect((await market.priceAt(1, 10))[0]).to.equal(0n);
      await expect(market.connect(alice).setPrice(1, 1_000n * USDC + 1n, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadPrice");
    });

    it("prices in the owner's creator token only once it exists, and a transfer ends the token price from the next epoch", async () => {
      const s = await loadFixture(marketFixture);
      const { market, clock, creatorMarket, flk, owners } = s;
      const [alice, bob] = owners;
      await market.connect(alice).register("a", ROOT_A, ROOT_B, 128, 10_000);
      await expect(market.connect(alice).setPrice(1, 10_000, 5n * FLK))
        .to.be.revertedWithCustomError(market, "AgentMarketNoCreatorToken")
        .withArgs(alice.address);
      // Alice's creator token comes into being with its first buy.
      await fundWithFlk(s, [alice.address], 1_000n * FLK);
      await flk.connect(alice).approve(await creatorMarket.getAddress(), hre.ethers.MaxUint256);
      await creatorMarket.connect(alice).buy(alice.address, FLK, 1_000n * FLK, (await time.latest()) + 600);
      const token = await creatorMarket.tokenOf(alice.address);
      await expect(market.connect(alice).setPrice(1, 10_000, 5n * FLK))
        .to.emit(market, "ListingPriceSet")
        .withArgs(1, 10_000, token, 5n * FLK, 6);
      await expect(market.connect(alice).setPrice(1, 10_000, 10n ** 27n + 1n)).to.be.revertedWithCustomError(market, "AgentMarketBadPrice");
      await clock.setEpoch(6);
      expect(await market.priceAt(1, 6)).to.deep.equal([10_000n, token, 5n * FLK]);
      // Bob has no creator token: Alice's token price cannot follow the agent to him.
      await expect(market.connect(alice).transferAgent(1, bob.address)).to.emit(market, "ListingPriceSet").withArgs(1, 10_000, ZERO, 0, 7);
      expect(await market.priceAt(1, 6)).to.deep.equal([10_000n, token, 5n * FLK]);
      expect(await market.priceAt(1, 7)).to.deep.equal([10_000n, ZERO, 0n]);
    });

    it("pauses and resumes at once, refusing a change to the same state", async () => {
      const { market, owners } = await loadFixture(marketFixture);
      const [alice] = owners;
      await market.connect(alice).register("a", ROOT_A, ROOT_B, 128, 0);
      expect(await market.paused(1)).to.equal(false);
      await expect(market.connect(alice).setPaused(1, false)).to.be.revertedWithCustomError(market, "AgentMarketPauseUnchanged").withArgs(false);
      await expect(market.connect(alice).setPaused(1, true)).to.emit(market, "ListingPausedSet").withArgs(1, true);
      expect(await market.paused(1)).to.equal(true);
      await expect(market.connect(alice).setPaused(1, true)).to.be.revertedWithCustomError(market, "AgentMarketPauseUnchanged").withArgs(true);
      await expect(market.connect(alice).setPaused(1, false)).to.emit(market, "ListingPausedSet").withArgs(1, false);
    });
  });

  describe("governance", () => {
    it("sets the split within its bounds, summing to 10,000", async () => {
      const { market, gov, owners } = await loadFixture(marketFixture);
      await expect(market.connect(gov).setSplit(500, 7_500, 2_000))
        .to.emit(market, "SplitSet")
        .withArgs(500, 7_500, 2_000);
      expect(await market.split()).to.deep.equal([500n, 7_500n, 2_000n]);
      await expect(market.connect(gov).setSplit(499, 7_501, 2_000)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setSplit(3_001, 4_999, 2_000)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setSplit(2_000, 5_999, 2_001)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setSplit(2_000, 7_000, 999)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setSplit(2_000, 7_000, 1_001)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(owners[0]).setSplit(2_000, 7_000, 1_000)).to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount");
    });

    it("sets the hosting prices and the settlement addresses within their bounds", async () => {
      const { market, gov, owners, buyback } = await loadFixture(marketFixture);
      await expect(market.connect(gov).setHostingPrices(10_000_000, 0)).to.emit(market, "HostingPricesSet").withArgs(10_000_000, 0);
      expect([await market.pricePerGiBHour(), await market.pricePer1kTokens()]).to.deep.equal([10_000_000n, 0n]);
      await expect(market.connect(gov).setHostingPrices(10_000_001, 0)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setHostingPrices(0, 10_000_001)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(owners[0]).setHostingPrices(1, 1)).to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount");
      await expect(market.connect(gov).setSettlement(owners[1].address, buyback))
        .to.emit(market, "SettlementSet")
        .withArgs(owners[1].address, await buyback.getAddress());
      await expect(market.connect(gov).setSettlement(ZERO, buyback)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(gov).setSettlement(owners[1].address, ZERO)).to.be.revertedWithCustomError(market, "AgentMarketBadParameter");
      await expect(market.connect(owners[0]).setSettlement(owners[0].address, buyback)).to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount");
    });
  });

  describe("settlement", () => {
    async function twoAgents() {
      const s = await marketFixture();
      const [alice, bob] = s.owners;
      await s.market.connect(alice).register("a", ROOT_A, ROOT_B, 128, 10_000);
      await s.market.connect(bob).register("b", ROOT_B, ROOT_A, 128, 1);
      return s;
    }

    it("splits each agent's revenue 20/70/10, credits owners, deposits the fee into the buyback and tells the escrow the node share", async () => {
      const { market, settler, usdc, buyback, owners } = await loadFixture(twoAgents);
      const [alice, bob] = owners;
      const marketAddress = await market.getAddress();
      const potBefore = await buyback.pot();
      // 1 USDC for agent 1 from two nodes, 333 units for agent 2.
      expect(await market.connect(settler).settle.staticCall(6, [1, 2, 1], [600_000, 333, 400_000])).to.equal(120_000n + 67n + 80_000n);
      await expect(market.connect(settler).settle(6, [1, 2, 1], [600_000, 333, 400_000]))
        .to.emit(market, "AgentRevenue")
        .withArgs(6, 1, alice.address, 600_000, 120_000, 420_000, 60_000)
        .and.to.emit(market, "AgentRevenue")
        .withArgs(6, 2, bob.address, 333, 67, 233, 33)
        .and.to.emit(market, "AgentRevenue")
        .withArgs(6, 1, alice.address, 400_000, 80_000, 280_000, 40_000)
        .and.to.emit(market, "EpochSettled")
        .withArgs(6, 3, 1_000_333, 200_067, 700_233, 100_033)
        .and.to.emit(buyback, "RevenueDeposited")
        .withArgs(marketAddress, 100_033);
      expect(await usdc.balanceOf(settler.address)).to.equal(1_000_000n * USDC - 800_266n);
      expect(await buyback.pot()).to.equal(potBefore + 100_033n);
      expect(await usdc.balanceOf(marketAddress)).to.equal(700_233n);
      expect([await market.balanceOf(alice.address), await market.balanceOf(bob.address)]).to.deep.equal([700_000n, 233n]);
      expect([await market.totalOwed(), await market.totalProtocolFees(), await market.settled(6)]).to.deep.equal([700_233n, 100_033n, true]);

      // Pull: each owner withdraws its own balance, once.
      await expect(market.connect(alice).withdraw()).to.emit(market, "Withdrawn").withArgs(alice.address, 700_000);
      expect(await usdc.balanceOf(alice.address)).to.equal(700_000n);
      await expect(market.connect(alice).withdraw()).to.be.revertedWithCustomError(market, "AgentMarketNothingToWithdraw");
      expect([await market.totalOwed(), await market.totalWithdrawn(), await usdc.balanceOf(marketAddress)]).to.deep.equal([233n, 700_000n, 233n]);
    });

    it("settles an epoch once, from the escrow only, with matching bounded arrays of known agents", async () => {
      const { market, settler, owners, usdc } = await loadFixture(twoAgents);
      await expect(market.connect(owners[0]).settle(6, [1], [100]))
        .to.be.revertedWithCustomError(market, "AgentMarketUnauthorized")
        .withArgs(owners[0].address);
      await expect(market.connect(settler).settle(6, [1, 2], [100])).to.be.revertedWithCustomError(market, "AgentMarketBadSettlement");
      const many = Array.from({ length: 257 }, () => 1);
      await expect(market.connect(settler).settle(6, many, many)).to.be.revertedWithCustomError(market, "AgentMarketBadSettlement");
      await expect(market.connect(settler).settle(6, [1, 3], [100, 100]))
        .to.be.revertedWithCustomError(market, "AgentMarketUnknown")
        .withArgs(3);
      // A failed settlement left the epoch open and moved nothing.
      expect(await market.settled(6)).to.equal(false);
      expect(await usdc.balanceOf(await market.getAddress())).to.equal(0n);
      await market.connect(settler).settle(6, [], []);
      await expect(market.connect(settler).settle(6, [1], [100]))
        .to.be.revertedWithCustomError(market, "AgentMarketEpochSettled")
        .withArgs(6);
      // 256 entries fit.
      const full = Array.from({ length: 256 }, () => 1);
      await market.connect(settler).settle(7, full, full);
      expect(await market.balanceOf(owners[0].address)).to.equal(0n); // 1 unit: 0.7 rounds down, the unit is the nodes'
    });

    it("reverts whole, losing nothing, when the escrow has not approved the owner and protocol shares", async () => {
      const { market, settler, usdc } = await loadFixture(twoAgents);
      await usdc.connect(settler).approve(await market.getAddress(), 799_999);
      await expect(market.connect(settler).settle(6, [1], [1_000_000])).to.be.revertedWithCustomError(usdc, "ERC20InsufficientAllowance");
      expect([await market.settled(6), await market.totalOwed(), await usdc.balanceOf(settler.address)]).to.deep.equal([false, 0n, 1_000_000n * USDC]);
      await usdc.connect(settler).approve(await market.getAddress(), 800_000);
      await market.connect(settler).settle(6, [1], [1_000_000]);
      expect(await usdc.balanceOf(settler.address)).to.equal(1_000_000n * USDC - 800_000n);
    });

    it("settles its largest batch, 256 entries each crediting a new owner, in under 8M gas (the transaction cap is 2^24)", async function () {
      this.timeout(300_000);
      const { market, settler, owners } = await loadFixture(twoAgents);
      const ids: number[] = [];
      for (let i = 0; i < 256; i++) {
        await market.connect(owners[0]).register("a", ROOT_A, ROOT_B, 128, 1);
        await market.connect(owners[0]).transferAgent(i + 3, hre.ethers.Wallet.createRandom().address);
        ids.push(i + 3);
      }
      const receipt = await (
        await market.connect(settler).settle(
          6,
          ids,
          ids.map(() => 1_000_000),
        )
      ).wait();
      expect(receipt!.gasUsed).to.be.lessThan(8_000_000n);
    });

    it("credits whoever owns the agent when the epoch settles", async () => {
      const { market, settler, owners } = await loadFixture(twoAgents);
      const [alice, , carol] = owners;
      await market.connect(alice).transferAgent(1, carol.address);
      await market.connect(settler).settle(6, [1], [10_000]);
      expect([await market.balanceOf(alice.address), await market.balanceOf(carol.address)]).to.deep.equal([0n, 7_000n]);
    });
  });
});
