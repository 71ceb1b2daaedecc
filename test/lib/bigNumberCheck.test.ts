/**
 * test/helpers/bigNumberCheck.ts answers hardhat's `isBigNumber` as hardhat does, so hardhat-toolbox's
 * chai matchers still compare big numbers, integers and numeric strings as bigints (their known
 * answers; the same assertions pass without the helper), and still refuse what is not a big number.
 */
import { expect } from "chai";
import BN from "bn.js";
import { isBigNumber } from "hardhat/common/bigInt";

describe("test helpers: hardhat's isBigNumber looked up once", () => {
  it("tells bigints and bn.js numbers from everything else, a check that throws counting as no", () => {
    expect([10n, new BN(5)].map(isBigNumber)).to.deep.equal([true, true]);
    const others = [5, "5", null, undefined, {}, [], Object.create(null)];
    expect(others.map(isBigNumber)).to.deep.equal(others.map(() => false));
  });

  it("lets the toolbox's matchers compare numbers, strings and big numbers as bigints", () => {
    expect(1).to.equal(1n);
    expect(16n).to.equal("16");
    expect(new BN(5)).to.equal(5);
    expect(3).to.be.above(2n).and.at.most(3);
    expect({ a: 1, b: [2n, "3"] }).to.deep.equal({ a: 1n, b: [2, 3] });
    expect(() => expect(2).to.equal(3n)).to.throw("expected 2 to equal 3");
    expect(() => expect(new BN(5)).to.be.below(4)).to.throw("expected 5 to be below 4");
  });
});
