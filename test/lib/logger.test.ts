import { expect } from "chai";
import { createLogger, Logger } from "../../lib/logger";

/** A logger writing into an array, and the lines parsed. */
function capture(make: (write: (line: string) => void) => Logger) {
  const lines: string[] = [];
  return { log: make((l) => lines.push(l)), lines, parsed: () => lines.map((l) => JSON.parse(l)) };
}

describe("lib/logger: the node's and the indexer's structured logger", () => {
  it("writes one JSON object per line: ISO time, level, message, context, fields", () => {
    const { log, lines, parsed } = capture((w) => new Logger({ node: "ab12" }, 10, w).child({ component: "worker" }));
    log.info("sealed", { batch: 3 });
    expect(lines).to.have.length(1);
    const [line] = parsed();
    expect(Object.keys(line)).to.deep.equal(["time", "level", "msg", "node", "component", "batch"]);
    expect(line).to.include({ level: "info", msg: "sealed", node: "ab12", component: "worker", batch: 3 });
    expect(line.time).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("writes bigints as decimal strings instead of throwing", () => {
    const { log, parsed } = capture((w) => createLogger("debug", w));
    log.warn("stake", { amount: 10n ** 30n, nested: { epoch: 7n } });
    expect(parsed()[0]).to.deep.include({ amount: "1000000000000000000000000000000", nested: { epoch: "7" } });
  });

  it("drops lines below its level; silent writes nothing", () => {
    const warn = capture((w) => createLogger("warn", w));
    warn.log.debug("d");
    warn.log.info("i");
    warn.log.warn("w");
    warn.log.error("e");
    expect(warn.parsed().map((l) => l.level)).to.deep.equal(["warn", "error"]);
    const silent = capture((w) => createLogger("silent", w));
    silent.log.error("e");
    expect(silent.lines).to.deep.equal([]);
  });
});
