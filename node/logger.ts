/**
 * A structured logger: one JSON object per line on stderr. Quiet by default (warnings and
 * errors only); `LOG_LEVEL=info` or `debug` in the environment turns on more.
 */

/** Log levels from most to least verbose. */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger bound to a set of context fields (node, component). */
export class Logger {
  constructor(
    private readonly context: Record<string, unknown> = {},
    private readonly min: number = ORDER[(process.env.LOG_LEVEL as Level) ?? "warn"] ?? ORDER.warn,
  ) {}

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    return new Logger({ ...this.context, ...fields }, this.min);
  }

  private write(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.min) return;
    process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...this.context, ...fields }) + "\n");
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write("error", msg, fields);
  }
}
