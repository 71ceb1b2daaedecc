/**
 * The functions service's answers as the gateway receives them over the channel (functionsService.ts),
 * in this process: what it meters. The real node's path (gateway, service process, receipts) is in
 * functions.test.ts and computePayments.test.ts.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { Logger } from "../../../node/logger";
import { startFunctionsService } from "../../../node/functions/functionsService";
import type { ServiceInstance } from "../../../node/services/serviceContract";

/** The function's source's content root is not checked by the service (the gateway read it by root): any 64 hex. */
const ROOT = "ab".repeat(32);
const SOURCE = `export default { async fetch(request) {
  return new Response(JSON.stringify({ meterHeader: request.headers.get("x-fleek-meter"), body: await request.text() }));
} };`;

/** SHA-256 of u32be length ‖ method ‖ u32be length ‖ target ‖ body (docs/payments: the receipt's request hash), written out here. */
function expectedRequestHash(method: string, target: string, body: string): string {
  const part = (text: string) => {
    const bytes = Buffer.from(text);
    return Buffer.concat([Buffer.from([0, 0, bytes.length >> 8, bytes.length & 0xff]), bytes]);
  };
  return createHash("sha256")
    .update(Buffer.concat([part(method), part(target), Buffer.from(body)]))
    .digest("hex");
}

for (const options of [{}, { threads: 2 }]) {
  describe(`functions service (issue 19: what it meters), options ${JSON.stringify(options)}`, function () {
    this.timeout(30_000);
    let service: ServiceInstance;

    before(async () => {
      service = await startFunctionsService({
        id: "functions",
        options,
        gatewayUrl: "http://127.0.0.1:9",
        nodeHosts: [],
        dataDir: "",
        logger: new Logger({ service: "functions-test" }),
      });
    });
    after(async () => service.close());

    const invoke = (headers: Record<string, string>, body: string) =>
      service.invoke({
        method: "POST",
        url: `/fn/blake3/${ROOT}/p?q=1`,
        headers: { host: "node", "content-length": String(Buffer.byteLength(body)), ...headers },
        body: (async function* () {
          yield Buffer.from(body);
        })(),
        attachment: { key: ROOT, bytes: Buffer.from(SOURCE) },
      });

    it("meters an invocation only when the gateway asks (a paid node), and the function never sees the request for it", async () => {
      const unpaid = await invoke({}, "first");
      expect(unpaid.status).to.equal(200);
      expect(JSON.parse(Buffer.from(unpaid.body).toString())).to.deep.equal({ meterHeader: null, body: "first" });
      expect(unpaid.headers["x-fleek-function"]).to.equal(ROOT);
      expect(unpaid.headers).to.not.have.property("x-fleek-meter");

      const paid = await invoke({ "x-fleek-meter": "1" }, "second");
      expect(paid.status).to.equal(200);
      const answered = Buffer.from(paid.body);
      expect(JSON.parse(answered.toString())).to.deep.equal({ meterHeader: null, body: "second" });
      const meter = JSON.parse(paid.headers["x-fleek-meter"]) as Record<string, unknown>;
      expect(meter.root).to.equal(ROOT);
      expect(meter.requestHash).to.equal(expectedRequestHash("POST", "/p?q=1", "second"));
      expect(meter.responseHash).to.equal(createHash("sha256").update(answered).digest("hex"));
      expect(meter.egressBytes).to.equal(answered.length);
      expect(meter.cpuUs).to.be.a("number").and.greaterThan(0);
    });
  });
}
