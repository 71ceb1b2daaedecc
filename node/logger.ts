/** The node's logger is the one shared with the indexer: lib/logger.ts. */
export { Logger } from "../lib/logger";
