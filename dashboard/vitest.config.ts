import { defineConfig } from "vitest/config";

export default defineConfig({
  root: __dirname,
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
    setupFiles: ["test/setup.ts"],
    // A page test took 2.4 s at load 7 on CI's shared 2-core machine; 5 s (the default) is too near.
    testTimeout: 20_000,
    // The mocha-style summary lets .ci/run count these tests with the Hardhat ones.
    reporters: ["default", "./mochaSummaryReporter.ts"],
  },
});
