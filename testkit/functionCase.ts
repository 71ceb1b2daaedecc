/**
 * Runs one function module once in a FunctionRuntime of its own process, then a calm function in
 * the same runtime, and prints what each did as one JSON line. For tests of modules that could
 * hold the runtime's thread: the test kills this process when it does not answer in time.
 * Usage: `node --import tsx testkit/functionCase.ts <module source> <cpuMs>`.
 */
import { DEFAULT_FUNCTION_LIMITS } from "../node/functions/functionLimits";
import { FunctionError, FunctionRuntime, type FunctionRequest } from "../node/functions/functionRuntime";

const REQUEST: FunctionRequest = { method: "GET", url: "http://fn/", headers: [], body: null, params: { path: "/", search: "" } };
const CALM = `export default { fetch() { return new Response("calm"); } };`;

async function main(): Promise<void> {
  const [source, cpuMs] = process.argv.slice(2);
  const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: Number(cpuMs) });
  const started = performance.now();
  const outcome = await runtime.run("case", source, REQUEST).then(
    (answer) => ({ status: answer.status, body: Buffer.from(answer.body).toString() }),
    (error: unknown) => (error instanceof FunctionError ? { failure: error.failure, message: error.message } : { unexpected: String(error) }),
  );
  const ms = Math.round(performance.now() - started);
  const calm = Buffer.from((await runtime.run("calm", CALM, REQUEST)).body).toString();
  runtime.close();
  console.log(JSON.stringify({ outcome, ms, calm }));
}

void main();
