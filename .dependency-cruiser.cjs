/**
 * The layering the folder layout promises, checked by `npm run depcheck` (first step of `npm test`).
 * See docs/architecture.md "Dependency rules".
 */
module.exports = {
  forbidden: [
    {
      name: "protocol-is-self-contained",
      comment:
        "protocol/ holds the off-chain formulas every other part shares, so it imports nothing of the repository " +
        "(not even contract artifacts: it mirrors the contracts in plain bigint arithmetic), only npm packages and Node built-ins.",
      severity: "error",
      from: { path: "^protocol/" },
      to: { pathNot: ["^protocol/", "(^|/)node_modules/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "apps-do-not-import-each-other",
      comment:
        "indexer/, node/ and dashboard/ are separate programs: what two of them share belongs in protocol/ (formulas) " +
        "or lib/ (plumbing such as the logger), never in one of them.",
      severity: "error",
      from: { path: "^(indexer|node|dashboard)/" },
      to: { path: "^(indexer|node|dashboard)/", pathNot: "^$1/" },
    },
    {
      name: "lib-is-neutral",
      comment: "lib/ holds the plumbing the programs share (the logger, command-line flags), so it imports none of them.",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(indexer|node|dashboard|scripts|bench|test|testkit)/" },
    },
    {
      name: "bench-does-not-reach-into-test",
      comment: "Benchmarks share deployment and fixture helpers with the tests through testkit/, not by importing test files.",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^test/" },
    },
    {
      name: "no-unresolvable",
      comment:
        "An import the resolver cannot find would hide a broken or mistyped path from the rules above. " +
        "Build outputs (artifacts/, typechain-types/) are exempt: depcheck runs before `hardhat compile` makes them.",
      severity: "error",
      from: {},
      // Ponder's virtual modules (ponder:registry, ponder:schema, ponder:api) exist only inside the
      // Ponder app bench/indexer/ponder, which Ponder's own bundler loads.
      to: { couldNotResolve: true, pathNot: ["(^|/)(artifacts|typechain-types)(/|$)", "^ponder:(registry|schema|api)$"] },
    },
  ],
  options: {
    // Compiled contracts are leaves: imported (so the rules see them), never cruised themselves.
    doNotFollow: { path: ["(^|/)node_modules/", "^(artifacts|typechain-types)/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
