/** The indexer's logger is the one shared with the node: lib/logger.ts. */
export { createLogger, LOG_LEVELS, silentLogger, Logger, type LogLevel } from "../lib/logger";
