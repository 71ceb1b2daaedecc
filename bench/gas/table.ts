import type { ContractTransactionResponse, TransactionReceipt } from "ethers";

/** One row of the gas table: a user-facing call, its measured gas and the anchor it is held to. */
export interface GasRow {
  /** What was called, e.g. "FLK.transfer". */
  call: string;
  /** Execution gas: the receipt's gas minus the 21,000 intrinsic and the calldata cost. */
  gas: bigint;
  /** The anchor's figure (execution gas too), if there is one. */
  anchor?: bigint;
  /** Where the anchor comes from. */
  anchorSource?: string;
  /** Our target relative to the anchor: at most `anchor × goal` (1 = at or below the anchor). */
  goal?: number;
}

/**
 * Execution gas of a mined transaction: total gas minus the intrinsic 21,000 and the calldata
 * cost (4 per zero byte, 16 per other byte). The anchors in docs/gas-anchors.md are
 * measured that way (forge's gas report), so the two are comparable.
 */
export async function executionGas(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = (await tx.wait()) as TransactionReceipt;
  const data = Buffer.from(tx.data.slice(2), "hex");
  let calldata = 0n;
  for (const byte of data) calldata += byte === 0 ? 4n : 16n;
  return receipt.gasUsed - 21_000n - calldata;
}

/** Formats rows as a Markdown table with the verdict against each anchor. */
export function formatTable(rows: GasRow[]): string {
  const fmt = (n: bigint) => n.toLocaleString("en-US");
  const lines = ["| call | gas | anchor | vs anchor | goal | source |", "|---|---:|---:|---:|---|---|"];
  for (const r of rows) {
    if (r.anchor === undefined) {
      lines.push(`| ${r.call} | ${fmt(r.gas)} | | | | |`);
      continue;
    }
    const ratio = Number(r.gas) / Number(r.anchor);
    const goal = r.goal ?? 1;
    const verdict = ratio <= goal ? "met" : "MISSED";
    lines.push(
      `| ${r.call} | ${fmt(r.gas)} | ${fmt(r.anchor)} | ${(ratio * 100).toFixed(1)}% | ≤ ${(goal * 100).toFixed(0)}%: ${verdict} | ${r.anchorSource ?? ""} |`,
    );
  }
  return lines.join("\n");
}
