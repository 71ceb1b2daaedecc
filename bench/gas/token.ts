import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK, YEAR } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";
import { executionGas, type GasRow } from "./table";

const ANCHORS = "docs/gas-anchors.md (OpenZeppelin)";

/** Gas of the token's user-facing calls: transfer, permit, burn, vesting release, emission mint. */
export async function measureToken(): Promise<GasRow[]> {
  const { flk, vesting, emission, genesis } = await deploySuite();
  const holder = await hre.ethers.getSigner(genesis.sale.beneficiaries[0]);
  const [, , alice, bob] = await hre.ethers.getSigners();
  const rows: GasRow[] = [];

  // First release of a fresh beneficiary (balance 0 -> non-0), as the anchor measures it.
  const [saleId] = await vesting.scheduleIdsOf(holder.address);
  rows.push({
    call: "Vesting.release (first)",
    gas: await executionGas(await vesting.release(saleId)),
    anchor: 70_255n,
    anchorSource: `OZ VestingWalletCliff release, ${ANCHORS}`,
  });

  // Transfers beside OpenZeppelin's plain ERC-20 measured the same way in the same run: FLK must
  // cost no more (it carries no vote tracking).
  const plain = await hre.ethers.deployContract("PlainERC20", [holder.address, 1000n * FLK]);
  await plain.connect(holder).transfer(bob.address, FLK);
  await flk.connect(holder).transfer(bob.address, FLK);
  const plainRepeat = await executionGas(await plain.connect(holder).transfer(bob.address, FLK));
  const plainFresh = await executionGas(await plain.connect(holder).transfer(alice.address, FLK));
  rows.push({
    call: "FLK.transfer (recipient holds FLK)",
    gas: await executionGas(await flk.connect(holder).transfer(bob.address, FLK)),
    anchor: plainRepeat,
    anchorSource: "OZ plain ERC20, same run",
  });
  rows.push({
    call: "FLK.transfer (new recipient)",
    gas: await executionGas(await flk.connect(holder).transfer(alice.address, FLK)),
    anchor: plainFresh,
    anchorSource: "OZ plain ERC20, same run",
  });

  const deadline = (await time.latest()) + 3600;
  const { chainId } = await hre.ethers.provider.getNetwork();
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
    { owner: holder.address, spender: bob.address, value: FLK, nonce: await flk.nonces(holder.address), deadline },
  );
  const { v, r, s } = hre.ethers.Signature.from(signature);
  rows.push({ call: "FLK.permit", gas: await executionGas(await flk.connect(bob).permit(holder.address, bob.address, FLK, deadline, v, r, s)) });
  rows.push({ call: "FLK.burn", gas: await executionGas(await flk.connect(holder).burn(FLK)) });

  const [teamId] = await vesting.scheduleIdsOf(genesis.team.beneficiaries[0]);
  await time.increase(YEAR + 1n);
  rows.push({ call: "Vesting.release (team, at the cliff)", gas: await executionGas(await vesting.release(teamId)) });
  await time.increase(3600);
  rows.push({ call: "Vesting.release (repeat)", gas: await executionGas(await vesting.release(teamId)) });

  rows.push({ call: "Emission.mint", gas: await executionGas(await emission.mint()) });
  return rows;
}
