/**
 * Prints the gas of every user-facing call beside its anchor. Run: `npm run bench:gas`.
 * Each area of the suite contributes one `measure*` function; each runs on a fresh deployment.
 * Besides the Markdown tables, each section prints one `BENCH {json}` line (read by bench/run).
 */
import hre from "hardhat";
import { clearSnapshots } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { formatTable, type GasRow } from "./table";
import { measureToken } from "./token";
import { measureStaking } from "./staking";
import { measureCreator } from "./creator";
import { measureBuyback } from "./buyback";
import { measureRegistry } from "./registry";

const sections: Array<[string, () => Promise<GasRow[]>]> = [
  ["Token, vesting, emission", measureToken],
  ["Staking and governance", measureStaking],
  ["Creator tokens", measureCreator],
  ["Buyback and burn", measureBuyback],
  ["Node registry, reports, rewards, escrow", measureRegistry],
];

async function main() {
  for (const [title, measure] of sections) {
    const snapshot = await hre.network.provider.send("evm_snapshot");
    const rows = await measure();
    console.log(`\n### ${title}\n\n${formatTable(rows)}`);
    // One machine-readable line per section for bench/run.
    console.log(`BENCH ${JSON.stringify({ bench: "gas", section: title, rows }, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    await hre.network.provider.send("evm_revert", [snapshot]);
    // The revert voids the suite's snapshot (testkit/deploy.ts): the next section deploys afresh, on the same state.
    await clearSnapshots();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
