import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../protocol/units";
import { tokenVoucherDomain, signTokenVoucher, type TokenVoucher } from "../protocol/tokenVoucher";
import type { TypedDataDomain } from "ethers";
import { fundWithFlk } from "./flk";
import { registerNodes, registrySuite, type RegistrySuite, type TestNode } from "./registry";
import { timelockSigner } from "./deploy";
import { tokenCallChain } from "../node/chain/tokenCallChain";

/** The suite with a creator token, callers holding it and a registered node (docs/agents.md "Calls paid in the creator token"). */
export interface TokenCallSuite extends RegistrySuite {
  /** The creator: owns agent 1 and the creator token its calls are priced in. */
  creator: HardhatEthersSigner;
  /** The creator's token. */
  token: string;
  /** Callers holding 1,000 whole tokens each, approved to the escrow. */
  callers: HardhatEthersSigner[];
  node: TestNode;
  domain: TypedDataDomain;
}

/** Buys `amount` of `creator`'s token for `buyer` on the curve (FLK approved first). */
export async function buyCreatorToken(s: RegistrySuite, buyer: HardhatEthersSigner, creator: string, amount: bigint): Promise<void> {
  await s.flk.connect(buyer).approve(await s.creatorMarket.getAddress(), hre.ethers.MaxUint256);
  await s.creatorMarket.connect(buyer).buy(creator, amount, hre.ethers.MaxUint256, (await time.latest()) + 600);
}

/**
 * The registry suite, one node (owned by operator 0), a creator (signer 10) with its token and agent
 * 1 listed by it, and two callers (signers 11, 12) with 1,000 whole tokens each approved to
 * TokenCallEscrow, whose fee seller governance named signer 0 (the deployer, as a keeper).
 */
export async function tokenCallSuite(): Promise<TokenCallSuite> {
  const s = await registrySuite();
  const signers = await hre.ethers.getSigners();
  const creator = signers[10];
  const callers = signers.slice(11, 13);
  await fundWithFlk(s, [creator.address, ...callers.map((c) => c.address)], 100_000n * FLK);
  await buyCreatorToken(s, creator, creator.address, FLK);
  const token = await s.creatorMarket.tokenOf(creator.address);
  const escrow = await s.tokenCallEscrow.getAddress();
  for (const c of callers) {
    await buyCreatorToken(s, c, creator.address, 1_000n * FLK);
    await (await hre.ethers.getContractAt("IERC20", token)).connect(c).approve(escrow, hre.ethers.MaxUint256);
  }
  await s.agentMarketplace.connect(creator).register("agent", `0x${"0a".repeat(32)}`, `0x${"0b".repeat(32)}`, 64, 0);
  const [node] = await registerNodes(s, 1);
  await s.tokenCallEscrow.connect(await timelockSigner(s)).setFeeSeller(signers[0].address);
  const { chainId } = await hre.ethers.provider.getNetwork();
  return { ...s, creator, token, callers, node, domain: tokenVoucherDomain(chainId, escrow) };
}

/** A voucher of `caller` for agent 1 on `nodeId` in `token`, signed by `signer` (the caller unless a forgery is tested). */
export async function signedVoucher(
  s: TokenCallSuite,
  caller: HardhatEthersSigner,
  cumulative: bigint,
  o: { signer?: HardhatEthersSigner; nodeId?: number; agentId?: bigint; token?: string } = {},
): Promise<{ voucher: TokenVoucher; signature: string }> {
  const voucher = { caller: caller.address, agentId: o.agentId ?? 1n, nodeId: o.nodeId ?? s.node.id, token: o.token ?? s.token, cumulative };
  return { voucher, signature: await signTokenVoucher(o.signer ?? caller, s.domain, voucher) };
}

/**
 * The token-call suite with a marketplace whose epoch the test moves (the registry's moves only
 * with reports) and an escrow over it: agent 1 of the creator at 2 tokens a call from epoch 6.
 */
export async function tokenDeskSuite() {
  const s = await tokenCallSuite();
  const gov = await timelockSigner(s);
  const clock = await (await hre.ethers.getContractFactory("MockEpochClock")).deploy();
  await clock.setEpoch(5);
  const market = await (await hre.ethers.getContractFactory("AgentMarketplace")).deploy(s.usdc, clock, s.creatorMarket, gov.address, s.escrow, s.buyback);
  const escrow = await (await hre.ethers.getContractFactory("TokenCallEscrow")).deploy(market, s.registry, 3_600);
  await market.connect(s.creator).register("agent", `0x${"0a".repeat(32)}`, `0x${"0b".repeat(32)}`, 64, 0);
  await market.connect(s.creator).setPrice(1, 0, 2n * FLK);
  await clock.setEpoch(6);
  const escrowAddress = await escrow.getAddress();
  for (const c of s.callers) await (await hre.ethers.getContractAt("IERC20", s.token)).connect(c).approve(escrowAddress, hre.ethers.MaxUint256);
  const { chainId } = await hre.ethers.provider.getNetwork();
  const domain = tokenVoucherDomain(chainId, escrowAddress);
  const chain = tokenCallChain({
    provider: hre.ethers.provider,
    escrow: escrowAddress,
    marketplace: await market.getAddress(),
    epochStartBlock: () => hre.ethers.provider.getBlockNumber(),
  });
  return { s: { ...s, domain }, market, clock, escrow, chain };
}
