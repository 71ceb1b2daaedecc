import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The edge functions' registry (docs/functions.md, "Registry"): names, versions by content root
 * and limits. It has no owner and no parameters, and nothing else calls it: the suite's `Fleek`
 * module includes it, and it also deploys on its own. The indexer, the dashboard and the nodes
 * read it by address.
 */
export default buildModule("Functions", (m) => ({ functionRegistry: m.contract("FunctionRegistry") }));
