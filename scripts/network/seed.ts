/**
 * A believable history on a fresh local chain, so every page of the dashboard and every area of the
 * indexer has something to show: vesting releases to the allocations' beneficiaries, emission,
 * several stakers, a governance proposal voted, queued and executed, creator tokens created and
 * traded, service payments deposited into the escrow, a buyback auction bought. Deterministic:
 * fixed accounts and amounts; chain time moves forward about five weeks.
 */
import { MaxUint256, id, parseEther, parseUnits, type ContractTransactionResponse, type JsonRpcProvider } from "ethers";
import { GOVERNANCE } from "../../protocol/governance";
import { hardhatAccount, ROLES } from "./accounts";
import { deployedSuite } from "./contracts";
import type { Deployment } from "./chain";

const DAY = 86_400;

/** What the seed did, for the banner and the system test. */
export interface SeedSummary {
  proposalId: bigint;
  stakers: string[];
  creators: string[];
  clients: string[];
}

/** Writes the history; `progress` gets one line per step. */
export async function seedHistory(deployment: Deployment, provider: JsonRpcProvider, progress: (step: string) => void = () => {}): Promise<SeedSummary> {
  const s = deployedSuite(deployment, provider);
  const acct = (i: number) => hardhatAccount(i, provider);
  const sent = async (tx: Promise<ContractTransactionResponse>) => (await tx).wait();
  const increase = async (seconds: number) => {
    await provider.send("evm_increaseTime", [seconds]);
    await provider.send("evm_mine", []);
  };
  const deadline = async () => BigInt((await provider.getBlock("latest"))!.timestamp + 3_600);
  const releaseAll = async () => {
    const count = Number(await s.vesting.scheduleCount());
    for (let id = 0; id < count; id++) if ((await s.vesting.releasable(id)) > 0n) await sent(s.vesting.connect(acct(ROLES.deployer)).release(id));
  };

  progress("vesting: TGE releases");
  await releaseAll();

  progress("stakers");
  const deployer = acct(ROLES.deployer);
  for (const [i, amount] of [
    [ROLES.stakers[0], 60_000],
    [ROLES.stakers[1], 25_000],
    [ROLES.stakers[2], 8_000],
    ...ROLES.operators.map((o) => [o, 10_000]),
    ...ROLES.clients.map((c) => [c, 2_000]),
  ]) {
    await sent(s.flk.connect(deployer).transfer(acct(i).address, parseEther(String(amount))));
  }
  const stakes: [number, number][] = [
    [ROLES.deployer, 1_000_000],
    [ROLES.foundation, 400_000],
    [ROLES.stakers[0], 50_000],
    [ROLES.stakers[1], 20_000],
    [ROLES.stakers[2], 5_000],
  ];
  for (const [i, amount] of stakes) {
    const w = acct(i);
    await sent(s.flk.connect(w).approve(deployment.contracts.staking, MaxUint256));
    await sent(s.staking.connect(w).stake(parseEther(String(amount))));
  }

  progress("governance: a proposal voted, queued and executed");
  await increase(DAY);
  const newPeriod = 5n * BigInt(DAY);
  const targets = [deployment.contracts.staking];
  const values = [0n];
  const calldatas = [s.staking.interface.encodeFunctionData("setUnbondingPeriod", [newPeriod])];
  const description = "Shorten unbonding to 5 days\nFaster exits for stakers while keeping a week-scale buffer.";
  await sent(s.governor.connect(deployer).propose(targets, values, calldatas, description));
  const proposalId = (await s.governor.hashProposal(targets, values, calldatas, id(description))) as bigint;
  await increase(Number(GOVERNANCE.votingDelay) + 1);
  await sent(s.governor.connect(deployer).castVoteWithReason(proposalId, 1, "Unbonding of a week is longer than peers'"));
  await sent(s.governor.connect(acct(ROLES.foundation)).castVote(proposalId, 1));
  await sent(s.governor.connect(acct(ROLES.stakers[0])).castVoteWithReason(proposalId, 0, "Keep the buffer"));
  await sent(s.governor.connect(acct(ROLES.stakers[1])).castVote(proposalId, 2));
  await increase(Number(GOVERNANCE.votingPeriod) + 1);
  await sent(s.governor.connect(deployer).queue(targets, values, calldatas, id(description)));
  await increase(Number(GOVERNANCE.timelockDelay) + 1);
  await sent(s.governor.connect(deployer).execute(targets, values, calldatas, id(description)));

  progress("emission, unstaking, rewards");
  await sent(s.emission.connect(deployer).mint());
  await sent(s.staking.connect(acct(ROLES.stakers[2])).unstake(parseEther("1000")));
  await sent(s.staking.connect(acct(ROLES.stakers[0])).claim());
  await sent(s.staking.connect(acct(ROLES.stakers[1])).compound());

  progress("creator tokens: created and traded");
  const [alice, bob] = ROLES.creators.map((i) => acct(i));
  const trader = acct(ROLES.stakers[2]);
  for (const w of [alice, bob, trader]) await sent(s.flk.connect(w).approve(deployment.contracts.creatorMarket, MaxUint256));
  const buy = async (w: typeof alice, creator: string, amount: bigint) => {
    const [total] = await s.creatorMarket.buyCost(creator, amount);
    await sent(s.creatorMarket.connect(w).buy(creator, amount, total, await deadline()));
  };
  await buy(alice, alice.address, parseEther("100"));
  await buy(bob, alice.address, parseEther("40"));
  await buy(trader, alice.address, parseEther("25"));
  await buy(bob, bob.address, parseEther("60"));
  await buy(alice, bob.address, parseEther("10"));
  const [proceeds] = await s.creatorMarket.sellReturn(alice.address, parseEther("15"));
  await sent(s.creatorMarket.connect(bob).sell(alice.address, parseEther("15"), proceeds, await deadline()));
  await sent(s.creatorMarket.connect(alice).claimCreatorFees());

  progress("service payments into the escrow");
  for (const [i, usdc] of ROLES.clients.map((c, k) => [c, k === 0 ? "2500" : "800"] as const)) {
    const w = acct(i);
    await sent(s.usdc.connect(w).mint(w.address, parseUnits(usdc, 6)));
    await sent(s.usdc.connect(w).approve(deployment.contracts.escrow, MaxUint256));
    await sent(s.escrow.connect(w).deposit(w.address, parseUnits(usdc, 6)));
  }

  progress("buyback: revenue deposited and an auction bought");
  await sent(s.usdc.connect(deployer).mint(deployer.address, parseUnits("1200", 6)));
  await sent(s.usdc.connect(deployer).approve(deployment.contracts.buyback, MaxUint256));
  await sent(s.buyback.connect(deployer).deposit(parseUnits("1200", 6)));
  // The deposit restarted auction 0 at 1,000 FLK per USDC; an hour before its floor it asks ~42.
  await increase(DAY - 3_600);
  const { id: auctionId } = await s.buyback.auction();
  await sent(s.flk.connect(deployer).approve(deployment.contracts.buyback, MaxUint256));
  await sent(s.buyback.connect(deployer).buy(auctionId, MaxUint256, await deadline(), deployer.address));
  await sent(s.usdc.connect(deployer).mint(deployer.address, parseUnits("300", 6)));
  await sent(s.buyback.connect(deployer).deposit(parseUnits("300", 6)));

  progress("vesting: releases a month after the TGE");
  await increase(20 * DAY);
  await releaseAll();
  await sent(s.emission.connect(deployer).mint());

  return {
    proposalId,
    stakers: stakes.map(([i]) => acct(i).address),
    creators: [alice.address, bob.address],
    clients: ROLES.clients.map((i) => acct(i).address),
  };
}
