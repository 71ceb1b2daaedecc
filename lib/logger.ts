/**
 * The structured logger of the node and the indexer: one JSON object per line on stderr, so logs
 * stay machine-readable and stdout stays free for command output. Every line is
 * `{time, level, msg, ...context, ...fields}` with `time` in ISO 8601; bigints are written as
 * decimal strings. Quiet by default (`warn`); `LOG_LEVEL` in the environment or the program's
 * own flag turns on more.
 */

/** Log levels, most verbose first; `silent` writes nothing. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Numeric thresholds of the levels: a logger writes the lines at or above its threshold. */
const THRESHOLD: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: Infinity };

/** The threshold of `LOG_LEVEL`, or of `warn` when it is unset or not a level. */
function thresholdFromEnv(): number {
  const level = process.env.LOG_LEVEL as LogLevel | undefined;
  return level && level in THRESHOLD ? THRESHOLD[level] : THRESHOLD.warn;
}

const writeStderr = (line: string) => void process.stderr.write(line + "\n");

/** A logger bound to a set of context fields (node key, component, ...). */
export class Logger {
  /**
   * @param context fields added to every line
   * @param min threshold: lines of a lower level are dropped (10 debug ... 40 error); default from `LOG_LEVEL`
   * @param write where each line goes; default stderr
   */
  constructor(
    private readonly context: Record<string, unknown> = {},
    private readonly min: number = thresholdFromEnv(),
    private readonly write: (line: string) => void = writeStderr,
  ) {}

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    return new Logger({ ...this.context, ...fields }, this.min, this.write);
  }

  private emit(level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>): void {
    if (THRESHOLD[level] < this.min) return;
    const line = { time: new Date().toISOString(), level, msg, ...this.context, ...fields };
    this.write(JSON.stringify(line, (_key, value) => (typeof value === "bigint" ? value.toString() : value)));
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit("error", msg, fields);
  }
}

/** A logger that drops lines below `level`; `write` defaults to stderr. */
export function createLogger(level: LogLevel = "warn", write: (line: string) => void = writeStderr): Logger {
  return new Logger({}, THRESHOLD[level], write);
}

/** A logger that writes nothing (tests, libraries given none). */
export const silentLogger: Logger = createLogger("silent");
