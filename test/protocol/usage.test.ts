import { expect } from "chai";
import { BANDWIDTH_PRICE_PER_GB, bandwidthCharge, usageTotals } from "../../protocol/usage";

const A = "0x00000000000000000000000000000000000000aA";
const B = "0x00000000000000000000000000000000000000bB";

describe("protocol: usage and revenue", () => {
  it("charges bytes × price per 10^9 bytes, rounded down", () => {
    expect(BANDWIDTH_PRICE_PER_GB).to.equal(100_000n);
    expect(bandwidthCharge(1_000_000_000n)).to.equal(100_000n);
    expect(bandwidthCharge(9_999n)).to.equal(0n);
    expect(bandwidthCharge(10_000n)).to.equal(1n);
    expect(bandwidthCharge(25_000n, 1_000_000n)).to.equal(25n);
  });

  it("sums each (node, account) pair before rounding and credits the same charge to usage and revenue", () => {
    const { usage, revenue } = usageTotals([
      { nodeId: 1, account: A, bytes: 6_000n },
      { nodeId: 1, account: A.toLowerCase(), bytes: 6_000n },
      { nodeId: 2, account: A, bytes: 25_000n },
      { nodeId: 2, account: B, bytes: 5_000n },
    ]);
    // 12,000 bytes on one pair charge 1 unit although each delivery alone would round to 0.
    expect(usage).to.deep.equal(new Map([[A.toLowerCase(), 3n], [B.toLowerCase(), 0n]]));
    expect(revenue).to.deep.equal(new Map([[1, 1n], [2, 2n]]));
    const sum = <K>(m: Map<K, bigint>) => [...m.values()].reduce((s, v) => s + v, 0n);
    expect(sum(usage)).to.equal(sum(revenue));
  });
});
