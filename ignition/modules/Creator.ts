import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TokenModule from "./Token";
import { DEFAULT_FEES } from "../../protocol/creatorMarket";

/**
 * The creator-token market (docs/creator-tokens.md). Owned by the deployer here, with the deployer
 * as treasury: the top-level module hands both to the admin.
 *
 * Parameters: `creatorFeeBps` (default 300), `burnFeeBps` (100), `treasuryFeeBps` (100), each in
 * basis points of a trade's curve amount, at most 500 each and 1,000 together.
 */
export default buildModule("Creator", (m) => {
  const deployer = m.getAccount(0);
  const { flk } = m.useModule(TokenModule);
  const creatorMarket = m.contract("CreatorMarket", [
    flk,
    deployer,
    deployer,
    m.getParameter("creatorFeeBps", DEFAULT_FEES.creatorBps),
    m.getParameter("burnFeeBps", DEFAULT_FEES.burnBps),
    m.getParameter("treasuryFeeBps", DEFAULT_FEES.treasuryBps),
  ]);
  return { creatorMarket };
});
