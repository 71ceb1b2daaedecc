import http from "node:http";
import type { AddressInfo } from "node:net";
import { prng } from "../../testkit/prng";

/** What the proxy imposes, as public endpoints (Base's, hosted providers') do. */
export interface FaultPlan {
  /** `eth_getLogs` over more blocks is refused with one of {@link RANGE_REFUSALS} (in turn). */
  maxRange: number;
  /** `eth_getLogs` over several blocks answering more logs is refused ("query returned more than N results"). */
  maxResults: number;
  /** Also cap the first multi-block answer of more than one log, whatever `maxResults` says. */
  resultCapFirst?: boolean;
  /** `eth_getLogs` over several blocks with more logs than this never answers (a node timing out on a dense range). */
  slowAbove: number;
  /** Per call, each of these happens with this probability. */
  rateLimit: number;
  drop: number;
  hang: number;
  serverError: number;
  /** Added to every answer's time (a distant endpoint). */
  latencyMs?: number;
  /** The refusal shapes used, in turn (default: all of {@link RANGE_REFUSALS}). */
  refusals?: string[];
  /** PRNG seed (logged by the test: a failure replays with the same seed). */
  seed: number;
}

type Refusal = (from: number, to: number, max: number) => { status: number; body: unknown };
const rpcError = (code: number, message: string) => ({ status: 200, body: { jsonrpc: "2.0", error: { code, message } } });
const hexq = (n: number) => "0x" + n.toString(16);

/** Range refusals in the shapes providers send them (messages as they document or return them). */
export const RANGE_REFUSALS: Record<string, Refusal> = {
  base: () => rpcError(-32000, "block range too large"),
  alchemy: (from, _to, max) =>
    rpcError(
      -32602,
      "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. " +
        `Based on your parameters, this block range should work: [${hexq(from)}, ${hexq(from + max - 1)}]`,
    ),
  infura: (from, _to, max) => rpcError(-32005, `query returned more than 10000 results. Try with this block range [${hexq(from)}, ${hexq(from + max - 1)}].`),
  quicknode: (_f, _t, max) => rpcError(-32614, `eth_getLogs is limited to a ${max.toLocaleString("en-US")} range`),
  ankr: () => rpcError(-32600, "block range is too wide"),
  coinbase: (_f, _t, max) => rpcError(-32000, `please limit the query to at most ${max} blocks`),
  http413: () => ({ status: 413, body: "Payload Too Large" }),
};

/** Counts of what the proxy did, by kind. */
export type FaultCounts = Record<string, number>;

/**
 * A JSON-RPC proxy on loopback in front of `upstream` that imposes `plan`: range and result
 * caps, answers that never come, 429s, dropped connections, 5xx. Everything it does is counted.
 */
export async function startFaultProxy(upstream: string, plan: FaultPlan): Promise<{ url: string; counts: FaultCounts; close(): Promise<void> }> {
  const random = prng(plan.seed);
  const counts: FaultCounts = {};
  const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1);
  const refusals = Object.entries(RANGE_REFUSALS).filter(([name]) => !plan.refusals || plan.refusals.includes(name));
  let refusalTurn = 0;
  let forced = 0;
  const hanging = new Set<http.ServerResponse>();
  const send = (res: http.ServerResponse, status: number, body: unknown, id: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === "string" ? body : JSON.stringify({ ...(body as object), id });
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json", ...headers }).end(text);
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: unknown; method: string; params: unknown[] };
    count(`call ${call.method}`);
    let span = 1;
    let from = 0;
    if (call.method === "eth_getLogs") {
      const filter = call.params[0] as { fromBlock: string; toBlock: string };
      from = Number(filter.fromBlock);
      span = Number(filter.toBlock) - from + 1;
    }
    const refuseRange = () => {
      const [name, refuse] = refusals[refusalTurn++ % refusals.length];
      count(`refused ${name}`);
      const { status, body } = refuse(from, from + span - 1, plan.maxRange);
      return send(res, status, body, call.id);
    };
    // The first range over the cap is refused whatever the roll: a fetcher that shrinks its range
    // after the forced faults below could otherwise never send one (seed 2070468635 did not).
    if (span > plan.maxRange && refusalTurn === 0) return refuseRange();
    // The calls after the first fail once in each way, so every run sees every kind; then at random.
    const calls = Object.entries(counts).reduce((n, [k, v]) => (k.startsWith("call ") ? n + v : n), 0);
    const forcedRolls = [0, plan.rateLimit, plan.rateLimit + plan.drop, plan.rateLimit + plan.drop + plan.hang];
    const roll = calls >= 2 && forced < forcedRolls.length ? forcedRolls[forced++] + 1e-9 : random();
    if (roll < plan.rateLimit) return (count("429"), send(res, 429, "Too Many Requests", call.id, { "retry-after": "0" }));
    if (roll < plan.rateLimit + plan.drop) return (count("dropped"), req.socket.destroy());
    if (roll < plan.rateLimit + plan.drop + plan.hang) return (count("hang"), hanging.add(res));
    if (roll < plan.rateLimit + plan.drop + plan.hang + plan.serverError) return (count("503"), send(res, 503, "Service Unavailable", call.id));
    if (span > plan.maxRange) return refuseRange();
    if (plan.latencyMs) await new Promise((r) => setTimeout(r, plan.latencyMs));
    const upstreamRes = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(call) });
    const answer = (await upstreamRes.json()) as { result?: unknown };
    if (call.method === "eth_getLogs" && span > 1 && Array.isArray(answer.result)) {
      if (answer.result.length > plan.slowAbove) return (count("slow dense range"), hanging.add(res));
      // The first answer of several logs is capped too (a provider whose cap is lower that day), so
      // every run sees a result cap: whether a range lands between `maxResults` and `slowAbove`
      // depends on how the random faults moved the fetcher's ranges.
      const firstCap = plan.resultCapFirst && !counts["result cap"] && answer.result.length > 1;
      if (answer.result.length > plan.maxResults || firstCap)
        return (count("result cap"), send(res, 200, rpcError(-32005, `query returned more than ${plan.maxResults} results`).body, call.id));
    }
    send(res, upstreamRes.status, answer, call.id);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
