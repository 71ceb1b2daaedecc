import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { GOVERNANCE, UNBONDING_PERIOD } from "../../protocol/governance";
import { deploySuite } from "../../testkit/deploy";
import { executionGas, type GasRow } from "./table";

const STAKER = "withtally/staker gas report, docs/gas-anchors.md (staker)";
const OZ = "docs/gas-anchors.md (OpenZeppelin)";
/** Our staking calls must come in at least 30% below the anchors. */
const STAKING_GOAL = 0.7;

/**
 * Gas of staking and governance calls. Every call runs the way users meet it: with other stakers
 * already present (so emission accrues), at a later timestamp than the previous call (so each
 * history gains a checkpoint rather than overwriting one), after emission has been minted before
 * (so the first-ever mint's fresh storage is not charged to a claim).
 */
export async function measureStaking(): Promise<GasRow[]> {
  const { flk, vesting, staking, governor, emission, genesis } = await deploySuite();
  const holder = await hre.ethers.getSigner(genesis.sale.beneficiaries[0]);
  const [, , alice, bob, carol] = await hre.ethers.getSigners();
  await vesting.release((await vesting.scheduleIdsOf(holder.address))[0]);
  for (const s of [alice, bob, carol]) {
    await flk.connect(holder).transfer(s.address, 100_000n * FLK);
    await flk.connect(s).approve(await staking.getAddress(), hre.ethers.MaxUint256);
  }
  const rows: GasRow[] = [];
  await staking.connect(bob).stake(50_000n * FLK);
  await emission.mint();
  await time.increase(3600);

  rows.push({
    call: "Staking.stake (first)",
    gas: await executionGas(await staking.connect(alice).stake(20_000n * FLK)),
    anchor: 347_794n,
    anchorSource: `first stake, ${STAKER}`,
    goal: STAKING_GOAL,
  });
  await time.increase(3600);
  // Two stakes more: the vote and total histories each open a fresh slot every other checkpoint,
  // so consecutive calls alternate which one pays for it.
  for (const n of ["more", "more, again"]) {
    rows.push({
      call: `Staking.stake (${n})`,
      gas: await executionGas(await staking.connect(alice).stake(1_000n * FLK)),
      anchor: 95_257n,
      anchorSource: `stake more, ${STAKER}`,
      goal: STAKING_GOAL,
    });
    await time.increase(3600);
  }
  await time.increase(3600);
  // A claim mints the due emission when the reserve is short (usual: each claim mints everything
  // due up to its own second), and skips the mint when someone minted in the meantime.
  const claimAnchor = { anchor: 159_165n, anchorSource: `claim reward, ${STAKER}`, goal: STAKING_GOAL };
  const claim = await staking.connect(alice).claim();
  const minted = (await claim.wait())!.logs.some((l) => l.address === emission.target);
  if (!minted) throw new Error("expected the claim to mint");
  rows.push({ call: "Staking.claim (mints due emission)", gas: await executionGas(claim), ...claimAnchor });
  await time.increase(3600);
  await emission.mint();
  rows.push({ call: "Staking.claim (reserve covers it)", gas: await executionGas(await staking.connect(bob).claim()), ...claimAnchor });
  await time.increase(3600);
  rows.push({ call: "Staking.compound", gas: await executionGas(await staking.connect(alice).compound()) });
  await time.increase(3600);
  rows.push({
    call: "Staking.unstake (first)",
    gas: await executionGas(await staking.connect(alice).unstake(500n * FLK)),
    anchor: 118_338n,
    anchorSource: `withdraw partial, ${STAKER}`,
    goal: STAKING_GOAL,
  });
  await time.increase(3600);
  rows.push({
    call: "Staking.unstake (again)",
    gas: await executionGas(await staking.connect(alice).unstake(500n * FLK)),
    anchor: 118_338n,
    anchorSource: `withdraw partial, ${STAKER}`,
    goal: STAKING_GOAL,
  });
  await time.increase(UNBONDING_PERIOD);
  rows.push({ call: "Staking.withdraw (two requests)", gas: await executionGas(await staking.connect(alice).withdraw()) });

  await time.increase(3600);
  rows.push({
    call: "Staking.delegate (to another staker)",
    gas: await executionGas(await staking.connect(alice).delegate(bob.address)),
    anchor: 95_326n,
    anchorSource: `ERC20Votes delegate, ${OZ}`,
  });

  // A proposal by bob (above the threshold), voted on by carol, a fresh staker.
  await staking.connect(carol).stake(10_000n * FLK);
  await time.increase(60);
  const target = await staking.getAddress();
  const call = staking.interface.encodeFunctionData("setUnbondingPeriod", [UNBONDING_PERIOD]);
  await governor.connect(bob).propose([target], [0n], [call], "bench");
  const id = await governor.hashProposal([target], [0n], [call], hre.ethers.id("bench"));
  await time.increase(GOVERNANCE.votingDelay + 1n);
  rows.push({
    call: "FleekGovernor.castVote (first vote)",
    gas: await executionGas(await governor.connect(carol).castVote(id, 1)),
    anchor: 82_992n,
    anchorSource: `OZ Governor castVote, ${OZ}`,
  });
  return rows;
}
