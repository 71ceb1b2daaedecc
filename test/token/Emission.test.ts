import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { cumulativeEmission, YEARLY_EMISSION } from "../../protocol/emission";
import { FLK, YEAR } from "../../protocol/units";
import { deploySuite, timelockSigner } from "../../testkit/deploy";

/** The suite with emission pointed at two fresh accounts, so their balances are the two halves. */
async function withRecipients() {
  const suite = await deploySuite();
  const [, , , stakers, nodes] = await hre.ethers.getSigners();
  const adminSigner = await timelockSigner(suite);
  await suite.emission.connect(adminSigner).setRecipients(stakers.address, nodes.address);
  // What the deployment's recipients received before the switch.
  const mintedBefore = await suite.emission.minted();
  return { ...suite, adminSigner, stakers, nodes, mintedBefore };
}

describe("Emission", () => {
  it("publishes the schedule of docs/spec.md §3", async () => {
    const { emission } = await loadFixture(deploySuite);
    expect(await emission.schedule()).to.deep.equal(YEARLY_EMISSION);
    expect(await emission.yearlyEmission(5)).to.equal(0n);
    expect(await emission.TOTAL_EMISSION()).to.equal(16_500_000n * FLK);
  });

  it("mints exactly each year's amount at each year boundary, then nothing: 116.5M ever", async () => {
    const { emission, flk, stakers, nodes, mintedBefore } = await loadFixture(withRecipients);
    const start = await emission.start();
    let expectedTotal = 0n;
    for (let year = 1n; year <= 5n; year++) {
      expectedTotal += YEARLY_EMISSION[Number(year) - 1];
      await time.setNextBlockTimestamp(start + year * YEAR);
      await emission.mint();
      expect(await emission.minted()).to.equal(expectedTotal, `end of year ${year}`);
      const toStakers = expectedTotal / 2n - mintedBefore / 2n;
      expect(await flk.balanceOf(stakers.address)).to.equal(toStakers);
      expect(await flk.balanceOf(nodes.address)).to.equal(expectedTotal - mintedBefore - toStakers);
    }
    expect(expectedTotal).to.equal(16_500_000n * FLK);
    await time.increase(10n * YEAR);
    expect(await emission.mintable()).to.equal(0n);
    await expect(emission.mint()).not.to.emit(emission, "EmissionMinted");
    expect(await flk.totalMinted()).to.equal(116_500_000n * FLK);
    expect(await flk.totalSupply()).to.equal(116_500_000n * FLK);
  });

  it("accrues linearly per second within a year, rounding down", async () => {
    const { emission } = await loadFixture(deploySuite);
    const start = await emission.start();
    for (const elapsed of [1n, 12_345n, YEAR / 2n, YEAR + 7n, 3n * YEAR - 1n, 4n * YEAR + YEAR / 3n]) {
      expect(await emission.cumulativeEmission(start + elapsed)).to.equal(cumulativeEmission(elapsed));
    }
    expect(await emission.cumulativeEmission(start)).to.equal(0n);
    expect(await emission.cumulativeEmission(0)).to.equal(0n);
  });

  it("lets anyone mint what is due and reports it", async () => {
    const { emission, stakers, nodes } = await loadFixture(withRecipients);
    const [, , , , , anyone] = await hre.ethers.getSigners();
    const start = await emission.start();
    const before = await emission.minted();
    await time.setNextBlockTimestamp(start + 1000n);
    const due = cumulativeEmission(1000n);
    const toStakers = due / 2n - before / 2n;
    await expect(emission.connect(anyone).mint())
      .to.emit(emission, "EmissionMinted")
      .withArgs(stakers.address, toStakers, nodes.address, due - before - toStakers, due);
  });

  it("redirects the halves only by the owner, paying what is due to the old recipients", async () => {
    const { emission, flk, adminSigner, stakers, nodes, mintedBefore } = await loadFixture(withRecipients);
    const [, , , , , other, another] = await hre.ethers.getSigners();
    await expect(emission.connect(other).setRecipients(other.address, other.address))
      .to.be.revertedWithCustomError(emission, "OwnableUnauthorizedAccount")
      .withArgs(other.address);
    await expect(emission.connect(adminSigner).setRecipients(hre.ethers.ZeroAddress, other.address)).to.be.revertedWithCustomError(
      emission,
      "EmissionZeroAddress",
    );
    await expect(emission.connect(adminSigner).setRecipients(other.address, hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(
      emission,
      "EmissionZeroAddress",
    );

    const start = await emission.start();
    await time.setNextBlockTimestamp(start + 5000n);
    await emission.connect(adminSigner).setRecipients(other.address, another.address);
    const due = cumulativeEmission(5000n);
    expect((await flk.balanceOf(stakers.address)) + (await flk.balanceOf(nodes.address))).to.equal(due - mintedBefore);
    expect(await emission.stakingRecipient()).to.equal(other.address);
    expect(await emission.nodeRecipient()).to.equal(another.address);
  });

  it("refuses to mint before the recipients are named; the first naming gets everything accrued", async () => {
    const [deployer, , , a, b] = await hre.ethers.getSigners();
    const emission = await hre.ethers.deployContract("Emission", [deployer.address, deployer.address]);
    const flk = await hre.ethers.getContractAt("FLK", await emission.token());
    await expect(emission.mint()).to.be.revertedWithCustomError(emission, "EmissionRecipientsNotSet");
    const start = await emission.start();
    await time.setNextBlockTimestamp(start + 100n);
    await emission.setRecipients(a.address, b.address);
    await time.setNextBlockTimestamp(start + 101n);
    await emission.mint();
    expect((await flk.balanceOf(a.address)) + (await flk.balanceOf(b.address))).to.equal(cumulativeEmission(101n));
    expect(await flk.balanceOf(deployer.address)).to.equal(100_000_000n * FLK);
  });
});
