/** Off-chain formulas shared by the node and the indexer: one implementation of each. */
export * from "./params";
export * from "./committee";
export * from "./reputation";
export * from "./rewards";
export * from "./report";
export * from "./reportRoots";
export * from "./usage";
