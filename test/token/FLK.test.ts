import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK as ONE } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";

/** The suite after the sale beneficiary has released its 20M. */
async function withBalances() {
  const suite = await deploySuite();
  const holder = await hre.ethers.getSigner(suite.genesis.sale.beneficiaries[0]);
  const [saleSchedule] = await suite.vesting.scheduleIdsOf(holder.address);
  await suite.vesting.release(saleSchedule);
  return { ...suite, holder };
}

describe("FLK", () => {
  it("is 'Fleek' / 'FLK' with 18 decimals and the SPEC's supply constants", async () => {
    const { flk } = await loadFixture(deploySuite);
    expect(await flk.name()).to.equal("Fleek");
    expect(await flk.symbol()).to.equal("FLK");
    expect(await flk.decimals()).to.equal(18n);
    expect(await flk.GENESIS_SUPPLY()).to.equal(100_000_000n * ONE);
    expect(await flk.MAX_MINTED()).to.equal(116_500_000n * ONE);
  });

  it("transfers like a plain ERC-20", async () => {
    const { flk, holder } = await loadFixture(withBalances);
    const [, , other] = await hre.ethers.getSigners();
    await expect(flk.connect(holder).transfer(other.address, 5n * ONE)).to.changeTokenBalances(flk, [holder, other], [-5n * ONE, 5n * ONE]);
  });

  it("accepts an EIP-2612 permit and rejects a replayed one", async () => {
    const { flk, holder } = await loadFixture(withBalances);
    const [, , spender] = await hre.ethers.getSigners();
    const deadline = (await time.latest()) + 3600;
    const value = 7n * ONE;
    const { chainId } = await hre.ethers.provider.getNetwork();
    const nonce = await flk.nonces(holder.address);
    const signature = await holder.signTypedData(
      { name: "Fleek", version: "1", chainId, verifyingContract: await flk.getAddress() },
      {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      { owner: holder.address, spender: spender.address, value, nonce, deadline },
    );
    const { v, r, s } = hre.ethers.Signature.from(signature);
    await flk.connect(spender).permit(holder.address, spender.address, value, deadline, v, r, s);
    expect(await flk.allowance(holder.address, spender.address)).to.equal(value);
    await expect(flk.connect(spender).permit(holder.address, spender.address, value, deadline, v, r, s)).to.be.revertedWithCustomError(
      flk,
      "ERC2612InvalidSigner",
    );
  });

  it("lets holders burn: supply falls for good, the minted total (and so the cap's room) does not", async () => {
    const { flk, holder } = await loadFixture(withBalances);
    const supply = await flk.totalSupply();
    const minted = await flk.totalMinted();
    await flk.connect(holder).burn(3n * ONE);
    expect(await flk.totalSupply()).to.equal(supply - 3n * ONE);
    expect(await flk.totalMinted()).to.equal(minted);
  });

  it("refuses mint from anyone but the emission contract", async () => {
    const { flk, holder } = await loadFixture(withBalances);
    await expect(flk.connect(holder).mint(holder.address, 1n)).to.be.revertedWithCustomError(flk, "FLKUnauthorizedMinter").withArgs(holder.address);
  });

  it("never mints past 116.5M ever minted, even after burns", async () => {
    // A standalone FLK whose minter is a test account, to reach the cap directly.
    const [minter, holder] = await hre.ethers.getSigners();
    const flk = await hre.ethers.deployContract("FLK", [holder.address]);
    const room = 16_500_000n * ONE;
    await expect(flk.mint(holder.address, room + 1n))
      .to.be.revertedWithCustomError(flk, "FLKCapExceeded")
      .withArgs(room + 1n, room);
    await flk.connect(minter).mint(holder.address, room);
    await flk.connect(holder).burn(50n * ONE);
    await expect(flk.mint(holder.address, 1n)).to.be.revertedWithCustomError(flk, "FLKCapExceeded").withArgs(1n, 0n);
    expect(await flk.totalMinted()).to.equal(116_500_000n * ONE);
  });
});
