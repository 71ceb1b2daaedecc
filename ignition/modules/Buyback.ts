import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TokenModule from "./Token";
import UsdcModule from "./Usdc";
import { DEFAULT_AUCTION } from "../buyback";

/**
 * Buyback-and-burn (docs/buyback.md): USDC revenue sold for FLK in Dutch auctions, the FLK burned.
 * Owned by the deployer here: the top-level module hands it to the admin.
 *
 * Parameters: `period` (seconds, default 1 day), `multiplier` (1e18 = 1×, default 2×), `floor`
 * (FLK wei for the whole pot, default 10 FLK), `firstStartPrice` (default 1,000 FLK).
 */
export default buildModule("Buyback", (m) => {
  const deployer = m.getAccount(0);
  const { flk } = m.useModule(TokenModule);
  const { usdc } = m.useModule(UsdcModule);
  const buyback = m.contract("BuybackBurner", [
    flk,
    usdc,
    deployer,
    m.getParameter("period", DEFAULT_AUCTION.period),
    m.getParameter("multiplier", DEFAULT_AUCTION.multiplier),
    m.getParameter("floor", DEFAULT_AUCTION.floor),
    m.getParameter("firstStartPrice", DEFAULT_AUCTION.firstStartPrice),
  ]);
  return { buyback, usdc };
});
