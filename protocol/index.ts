/** Off-chain formulas shared by the node, the indexer and the dashboard: one implementation of each. */
export * from "./units";
export * from "./params";
export * from "./genesis";
export * from "./emission";
export * from "./governance";
export * from "./creatorMarket";
export * from "./credits";
export * from "./stakingRewards";
export * from "./committee";
export * from "./reputation";
export * from "./rewards";
export * from "./report";
export * from "./reportRoots";
export * from "./usage";
export * from "./escrow";
export * from "./agentHosting";
export * from "./agentSnapshots";
