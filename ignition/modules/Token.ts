import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { GENESIS_ALLOCATIONS } from "../../protocol/genesis";
import TimelockModule from "./Timelock";

/**
 * FLK, its emission and the genesis vesting. Emission deploys FLK (so it is the only minter);
 * the 100M genesis supply goes to the deployer and, in the same deployment, into Vesting.
 * Emission stays owned by the deployer here: the top-level module wires its recipients and hands
 * it to the admin.
 *
 * Parameters: for every allocation key of `GENESIS_ALLOCATIONS`, `<key>Beneficiaries` (address[])
 * and `<key>Amounts` (uint96[], wei, summing to the allocation's total). They have no defaults on
 * purpose: a deployment to Base must name its beneficiaries (see ignition/parameters/). The
 * treasury allocation (ecosystem) takes none: the timelock is its beneficiary.
 */
export default buildModule("Token", (m) => {
  const deployer = m.getAccount(0);
  const emission = m.contract("Emission", [deployer, deployer]);
  const flk = m.contractAt("FLK", m.staticCall(emission, "token"));
  const start = m.staticCall(emission, "start");
  const { timelock } = m.useModule(TimelockModule);

  const allocations = GENESIS_ALLOCATIONS.map((a) => ({
    name: a.name,
    total: a.total,
    tgeBps: a.tgeBps,
    cliff: a.cliff,
    duration: a.duration,
    beneficiaries: a.treasury ? [timelock] : m.getParameter<string[]>(`${a.key}Beneficiaries`),
    amounts: a.treasury ? [a.total] : m.getParameter<bigint[]>(`${a.key}Amounts`),
  }));
  const vesting = m.contract("Vesting", [flk, start, allocations]);
  m.call(flk, "transfer", [vesting, m.staticCall(flk, "GENESIS_SUPPLY")], { id: "FundVesting" });

  return { flk, emission, vesting };
});
