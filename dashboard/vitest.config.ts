import { defineConfig } from "vitest/config";

export default defineConfig({
  root: __dirname,
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
    // The mocha-style summary lets .ci/run count these tests with the Hardhat ones.
    reporters: ["default", "./mochaSummaryReporter.ts"],
  },
});
