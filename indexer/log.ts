/**
 * Structured logging: one JSON object per line on stderr, so logs stay machine-readable and stdout
 * stays free for command output. Quiet by default (`warn`); progress lines are `info`.
 */

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger writing `{time, level, msg, ...fields}` lines. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger that drops lines below `level`; `write` defaults to stderr. */
export function createLogger(level: LogLevel = "warn", write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields }, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = createLogger("silent");
