/**
 * `env.llm.chat({messages, model, max_tokens})` (docs/agents-runtime.md "LLM"): the host calls the
 * agent owner's OpenAI-compatible endpoint, `POST <baseUrl>/v1/chat/completions`, with the owner's
 * API key (sealed to this node, agentSecrets.ts), through the functions' outbound rules (public
 * addresses only, unless the operator allows the endpoint's `host:port` in `llmHosts`), bounded in
 * time and response size, and meters the tokens the endpoint reports in `usage`.
 */
import { outboundFetch } from "../functions/outboundFetch";
import type { AgentEntry } from "./agentDirectory";
import type { AgentLimits } from "./agentsConfig";

/** What an agent may ask: the OpenAI chat request's common fields. */
export interface ChatRequest {
  messages: { role: string; content: string }[];
  model?: string;
  max_tokens?: number;
  temperature?: number;
}

/** Tokens one call used, as the endpoint reported them. */
export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

/** What the host needs to call endpoints. */
export interface LlmCaller {
  limits: AgentLimits;
  refusedHosts: ReadonlySet<string>;
  /** `host:port` the operator allows although not public. */
  allowedHosts: ReadonlySet<string>;
  /** The owner's API key in clear (opened from `sealedApiKey`), or undefined. */
  apiKey: (agent: AgentEntry) => string | undefined;
}

/** Owners seal their key to at most this many nodes in an agent's config file (the hosting set's bound). */
export const MAX_SEALED_KEYS = 256;

/** The endpoint part of an `llm` section, checked: `where` names it in errors. */
export function llmEndpoint(section: unknown, where: string): { baseUrl: string; model?: string } {
  const l = section as Record<string, unknown>;
  if (typeof l !== "object" || l === null || typeof l.baseUrl !== "string" || l.baseUrl.length > 2048 || !/^https?:\/\/[^\s]+$/.test(l.baseUrl))
    throw new Error(`${where}.baseUrl must be an http(s) URL`);
  if (l.model !== undefined && (typeof l.model !== "string" || l.model.length > 256))
    throw new Error(`${where}.model must be a string of at most 256 characters`);
  return { baseUrl: l.baseUrl.replace(/\/+$/, ""), ...(l.model === undefined ? {} : { model: l.model as string }) };
}

/**
 * The owner's endpoint as the agent's own config file names it (docs/agents-runtime.md "LLM and
 * secrets"), for agents the marketplace lists: the config file is public content, so the API key
 * is in it sealed to each node that may host the agent, keyed by the node's sealing key (hex, as
 * `GET /agents/_key` gives it): `"llm": {"baseUrl", "model"?, "sealedApiKeys"?: {"<hex>": "<base64>"}}`.
 * Undefined when the file has no `llm`; throws on a malformed one.
 */
export function llmOfAgentConfig(config: unknown, sealingKeyHex: string | undefined): AgentEntry["llm"] {
  const section = (config as { llm?: unknown } | null)?.llm;
  if (section === undefined) return undefined;
  const endpoint = llmEndpoint(section, "llm");
  const sealed = (section as { sealedApiKeys?: unknown }).sealedApiKeys;
  if (sealed === undefined) return endpoint;
  if (typeof sealed !== "object" || sealed === null || Array.isArray(sealed))
    throw new Error("llm.sealedApiKeys must map sealing keys (hex) to sealed keys (base64)");
  const entries = Object.entries(sealed);
  if (entries.length > MAX_SEALED_KEYS) throw new Error(`llm.sealedApiKeys names over ${MAX_SEALED_KEYS} nodes`);
  for (const [key, value] of entries)
    if (!/^[0-9a-f]{64}$/.test(key) || typeof value !== "string" || value.length > 4096)
      throw new Error("llm.sealedApiKeys must map sealing keys (64 lower-case hex) to sealed keys (base64)");
  const mine = sealingKeyHex === undefined ? undefined : (sealed as Record<string, string>)[sealingKeyHex];
  return mine === undefined ? { ...endpoint, sealedElsewhere: entries.length > 0 } : { ...endpoint, sealedApiKey: mine };
}

const ROLES = new Set(["system", "user", "assistant", "tool", "developer"]);

/** Calls the agent's endpoint; throws with a message the agent sees. */
export async function chat(caller: LlmCaller, agent: AgentEntry, request: ChatRequest, deadline: number): Promise<{ answer: unknown; usage: ChatUsage }> {
  const limits = caller.limits;
  if (!agent.llm) throw new Error("llm.chat refused: the agent's owner configured no LLM endpoint");
  if (typeof request !== "object" || request === null || !Array.isArray(request.messages) || request.messages.length === 0)
    throw new Error("llm.chat needs {messages: [{role, content}], model?, max_tokens?}");
  for (const m of request.messages) {
    if (typeof m !== "object" || m === null || !ROLES.has(m.role) || typeof m.content !== "string")
      throw new Error("llm.chat: each message is {role: system|user|assistant|tool|developer, content: string}");
  }
  const maxTokens = request.max_tokens ?? limits.llmMaxTokens;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.llmMaxTokens)
    throw new Error(`llm.chat: max_tokens must be an integer in 1..${limits.llmMaxTokens}`);
  const model = request.model ?? agent.llm.model;
  if (typeof model !== "string" || model.length === 0) throw new Error("llm.chat: name a model (the owner configured no default)");
  const body = JSON.stringify({
    model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    max_tokens: maxTokens,
    ...(typeof request.temperature === "number" ? { temperature: request.temperature } : {}),
  });
  if (body.length > limits.requestBytes) throw new Error(`llm.chat: the request is over ${limits.requestBytes} bytes`);
  const headers: [string, string][] = [["content-type", "application/json"]];
  const key = caller.apiKey(agent);
  if (key) headers.push(["authorization", `Bearer ${key}`]);
  const url = `${agent.llm.baseUrl}/v1/chat/completions`;
  const target = new URL(url);
  const response = await outboundFetch(url, "POST", headers, Buffer.from(body), {
    deadline: Math.min(deadline, performance.now() + limits.llmTimeoutMs),
    maxResponseBytes: limits.llmResponseBytes,
    refusedHosts: caller.refusedHosts,
    allowPrivate: caller.allowedHosts.has(`${target.hostname}:${target.port || (target.protocol === "https:" ? 443 : 80)}`),
  });
  const text = Buffer.from(response.body).toString("utf8");
  if (response.status !== 200) throw new Error(`llm.chat: the endpoint answered ${response.status}: ${text.slice(0, 300)}`);
  let answer: { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error("llm.chat: the endpoint's answer is not JSON");
  }
  const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0);
  return { answer, usage: { promptTokens: count(answer.usage?.prompt_tokens), completionTokens: count(answer.usage?.completion_tokens) } };
}
