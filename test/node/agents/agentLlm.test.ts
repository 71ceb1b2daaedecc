/**
 * Issue 20, `env.llm.chat`: the host calls the agent owner's OpenAI-compatible endpoint — here a
 * server this test starts on loopback that speaks the wire format (`POST /v1/chat/completions`,
 * `usage` in the answer) — with the owner's API key, sealed to the node's key and opened by the
 * node; the tokens the endpoint reports are in the request's signed receipt. Bounded: the fetch
 * rules (loopback refused unless the operator allows the endpoint), time, response size,
 * max_tokens; a key sealed for another agent does not open.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentReceipt } from "../../../node/agents/agentRecords";
import { sealSecret } from "../../../node/agents/agentSecrets";
import { startAgentNode, type AgentNode } from "../../../testkit/agentNode";

const API_KEY = "sk-test-owner-key-123";
const OTHER_NODE = "ab".repeat(32);
const CHAT = `export default { async fetch(request, env) {
  const { model, max_tokens } = await request.json();
  try {
    const answer = await env.llm.chat({ model, max_tokens, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "say hello to the node" }] });
    return Response.json({ content: answer.choices[0].message.content, usage: answer.usage });
  } catch (e) { return Response.json({ error: e.message }); }
} }`;

describe("agents' LLM host API (issue 20)", function () {
  this.timeout(240_000);
  let server: Server;
  let port = 0;
  const seen: { authorization?: string; body: { model: string; max_tokens: number; messages: { role: string; content: string }[] } }[] = [];
  let node: AgentNode;
  let sealingKey: string;

  before(async () => {
    // An OpenAI-compatible stand-in: counts words as tokens, so the figures are known here.
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (p: Buffer) => parts.push(p));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as (typeof seen)[number]["body"];
        seen.push({ authorization: req.headers.authorization, body });
        if (req.url !== "/v1/chat/completions" || req.method !== "POST") return void res.writeHead(404).end();
        if (body.model === "slow") return; // never answers
        if (body.model === "huge") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pad: "x".repeat(200_000) }));
        const prompt = body.messages.map((m) => m.content.split(" ").length).reduce((x, y) => x + y, 0);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id: "chatcmpl-1",
            object: "chat.completion",
            created: 1_700_000_000,
            model: body.model,
            choices: [{ index: 0, message: { role: "assistant", content: "hello node" }, finish_reason: "stop" }],
            usage: { prompt_tokens: prompt, completion_tokens: 2, total_tokens: prompt + 2 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    // The owner learns the node's sealing key from a node first; this test starts the node once
    // to read it, then again with the sealed key in the agents' config (same node seed).
    const seed = "11".repeat(32);
    const probe = await startAgentNode({}, { keySeed: seed });
    sealingKey = ((await (await fetch(`${probe.gatewayUrl}/agents/_key`)).json()) as { sealingKey: string }).sealingKey;
    await probe.stop();
    const endpoint = { baseUrl: `http://127.0.0.1:${port}`, model: "stand-in" };
    node = await startAgentNode(
      {
        chat: { bundle: CHAT, config: {}, llm: { ...endpoint, sealedApiKey: sealSecret(Buffer.from(sealingKey, "hex"), "chat", API_KEY) } },
        // The same endpoint, but the key was sealed for agent "chat": it does not open for this one.
        thief: { bundle: CHAT, config: {}, llm: { ...endpoint, sealedApiKey: sealSecret(Buffer.from(sealingKey, "hex"), "chat", API_KEY) } },
        // A loopback endpoint the operator did not allow.
        private: { bundle: CHAT, config: {}, llm: { baseUrl: "http://127.0.0.1:9", model: "stand-in" } },
        // As a listed agent: no endpoint in the node's config; its own config file names it, with
        // the key sealed to this node and to another one.
        listed: {
          bundle: CHAT,
          config: {
            llm: { ...endpoint, sealedApiKeys: { [OTHER_NODE]: "b3RoZXI=", [sealingKey]: sealSecret(Buffer.from(sealingKey, "hex"), "listed", API_KEY) } },
          },
        },
        // Sealed to another node only: refused, never sent without the key.
        elsewhere: { bundle: CHAT, config: { llm: { ...endpoint, sealedApiKeys: { [OTHER_NODE]: "b3RoZXI=" } } } },
        malformed: { bundle: CHAT, config: { llm: { baseUrl: "ftp://example.org" } } },
      },
      { keySeed: seed, llmHosts: [`127.0.0.1:${port}`], limits: { llmTimeoutMs: 1_500, llmResponseBytes: 64 * 1024, llmMaxTokens: 512 } },
    );
  });
  after(async () => {
    await node?.stop();
    server?.close();
  });

  const ask = async (agent: string, body: Record<string, unknown>) => {
    const answer = await fetch(`${node.gatewayUrl}/agents/${agent}/`, { method: "POST", body: JSON.stringify(body) });
    return {
      json: (await answer.json()) as Record<string, unknown>,
      receipt: JSON.parse(answer.headers.get("x-fleek-receipt") ?? "null") as AgentReceipt | null,
    };
  };

  it("calls the owner's endpoint with the opened API key and meters the tokens it reports in the signed receipt", async () => {
    const { json, receipt } = await ask("chat", { max_tokens: 64 });
    // "Be brief." (2 words) + "say hello to the node" (5 words) = 7 prompt tokens by the stand-in's count.
    expect(json).to.deep.equal({ content: "hello node", usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } });
    const last = seen[seen.length - 1];
    expect(last.authorization).to.equal(`Bearer ${API_KEY}`);
    expect(last.body).to.deep.equal({
      model: "stand-in",
      max_tokens: 64,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "say hello to the node" },
      ],
    });
    expect([receipt!.promptTokens, receipt!.completionTokens]).to.deep.equal([7, 2]);
  });

  it("refuses a key sealed for another agent, an endpoint the fetch rules refuse, too many tokens, a slow endpoint and an oversized answer", async () => {
    const calls = seen.length;
    expect((await ask("thief", {})).json.error).to.equal(
      "the sealed secret of agent thief does not open with this node's key (sealed to another node or agent, or altered)",
    );
    // The node's own host name is refused before any address rule (it is also loopback).
    expect((await ask("private", {})).json.error).to.equal("fetch refused: 127.0.0.1 is this node");
    expect((await ask("chat", { max_tokens: 100_000 })).json.error).to.equal("llm.chat: max_tokens must be an integer in 1..512");
    expect(seen.length).to.equal(calls);
    expect((await ask("chat", { model: "slow" })).json.error).to.equal("fetch: the request's wall time is used up");
    expect((await ask("chat", { model: "huge" })).json.error).to.equal("fetch: response over 65536 bytes");
    // The agent serves on.
    expect((await ask("chat", {})).json.content).to.equal("hello node");
  });

  it("takes a listed agent's endpoint from its config file, with the key sealed to this node among others'", async () => {
    const { json, receipt } = await ask("listed", { max_tokens: 32 });
    expect(json.content).to.equal("hello node");
    expect(seen[seen.length - 1].authorization).to.equal(`Bearer ${API_KEY}`);
    expect([receipt!.promptTokens, receipt!.completionTokens]).to.deep.equal([7, 2]);
    const calls = seen.length;
    expect((await ask("elsewhere", {})).json.error).to.equal("llm.chat refused: the agent's owner sealed its API key to other nodes, not to this one");
    expect(seen.length).to.equal(calls);
    const malformed = await fetch(`${node.gatewayUrl}/agents/malformed/`, { method: "POST", body: "{}" });
    expect(malformed.status).to.be.greaterThanOrEqual(400);
    expect(await malformed.text()).to.include("llm.baseUrl must be an http(s) URL");
  });
});
