/**
 * Hardhat's chai matchers (hardhat-toolbox) ask `isBigNumber` of hardhat/common/bigInt about every
 * value an assertion compares: `equal`, `above`, `at.most`, `deep.equal`... For anything but a
 * bigint it requires "ethers", "bn.js" and "bignumber.js" anew each time, reads a `BigNumber` class
 * ethers 6 no longer has (a throw), and fails to resolve the package that is not installed (a
 * search of the file system): 2-3 ms an assertion against ~30 µs without the toolbox, which made a
 * 1,000-assertion property test take 14-19 s instead of 1.2 s. This answers the same question with
 * the three packages looked up once, as hardhat resolves them. Loaded by hardhat.config.ts.
 */
import { createRequire } from "node:module";

interface BigNumberClass {
  isBigNumber(value: unknown): boolean;
}

const requireAsHardhat = createRequire(require.resolve("hardhat/common/bigInt"));

/** What `pick` finds in package `id`, or undefined when the package or the class is missing. */
function loaded<T>(id: string, pick: (exports: Record<string, unknown>) => T | undefined): T | undefined {
  try {
    return pick(requireAsHardhat(id) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

const ethersBigNumber = loaded("ethers", (m) => (m.ethers as Record<string, BigNumberClass | undefined> | undefined)?.BigNumber);
const bnJs = loaded("bn.js", (m) => m as unknown as { isBN(value: unknown): boolean });
const bigNumberJs = loaded("bignumber.js", (m) => m.BigNumber as BigNumberClass | undefined);

/** A check that throws counts as no, as in hardhat's (bn.js's reads `constructor.wordSize`). */
function says(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

const hardhatBigInt = requireAsHardhat("hardhat/common/bigInt") as { isBigNumber(value: unknown): boolean };
hardhatBigInt.isBigNumber = (value) =>
  typeof value === "bigint" ||
  (ethersBigNumber !== undefined && says(() => ethersBigNumber.isBigNumber(value))) ||
  (bnJs !== undefined && says(() => bnJs.isBN(value))) ||
  (bigNumberJs !== undefined && says(() => bigNumberJs.isBigNumber(value)));
