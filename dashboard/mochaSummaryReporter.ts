import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints "N passing" / "N failing" like mocha, because .ci/run sums those lines over every runner.
 */
export default class MochaSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passing = 0;
    let failing = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passing++;
        else if (state === "failed") failing++;
      }
    }
    console.log(`\n  ${passing} passing`);
    if (failing > 0) console.log(`  ${failing} failing`);
  }
}
