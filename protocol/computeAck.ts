/**
 * The signed statements of paid compute (docs/functions.md "Metering and payment", docs/agents.md
 * "Payment of calls"): the bytes a node signs for a receipt and the bytes a client countersigns to
 * acknowledge it. One definition for the node (node/acks/computeReceipt.ts, node:crypto signs) and
 * the dashboard (dashboard/src/lib/callerKey.ts, @noble/curves signs): plain Uint8Array, no Buffer.
 */

/**
 * What a node measured of one invocation, which it signs: "I ran function F on request Q and
 * answered R, using `cpuUs` of CPU, `wallMs` of wall time and `egressBytes` of response, at a time
 * in [windowStart, windowEnd]". The client countersigns it (a compute acknowledgment); only the
 * pair of signatures counts in the report, so neither side alone can make an invocation: the node
 * cannot invent usage (no client signature), the client cannot claim other figures (no node
 * signature). An agent call's receipt has the same shape with `agent` set: `functionRoot` then
 * holds `bytes32(agentId)` of AgentMarketplace, and its own domain tags keep a function's and an
 * agent's receipts apart. `Bytes` is the byte type of the side that holds it (the node's Buffer).
 */
export interface ComputeReceipt<Bytes extends Uint8Array = Uint8Array> {
  /** Ed25519 public key of the node that ran the function (32 bytes). */
  nodeKey: Bytes;
  /** Ed25519 public key of the client that pays for it (32 bytes). */
  clientKey: Bytes;
  /** Content root of the function's module (32 bytes). */
  functionRoot: Bytes;
  /** SHA-256 of the request as the function saw it (node/acks/computeReceipt.ts `requestHash`). */
  requestHash: Bytes;
  /** SHA-256 of the response body the client received (`sha256sum` reproduces it). */
  responseHash: Bytes;
  /** CPU microseconds of the isolate during the invocation. */
  cpuUs: number;
  /** Wall milliseconds from the start of the run to the answer. */
  wallMs: number;
  /** Bytes of the response body. */
  egressBytes: number;
  /** Start of the window (Unix ms, the node's chain clock when it answered). */
  windowStart: number;
  /** End of the window: the client's acknowledgment is taken until then (plus clock skew). */
  windowEnd: number;
  /** 16 random bytes: one receipt, one charge. */
  nonce: Bytes;
  /** An agent call (report charges of kind 2): the LLM tokens the host metered, which the agent's owner pays. */
  agent?: { llmTokens: number };
}

/**
 * A receipt as JSON: byte fields in lower-case hex without 0x, figures as numbers, `llmTokens` for
 * an agent call. The gateway's `x-fleek-receipt` header carries it without `clientSignature`,
 * `POST /acks/compute` with it.
 */
export interface ComputeAckJson {
  nodeKey: string;
  clientKey: string;
  functionRoot: string;
  requestHash: string;
  responseHash: string;
  cpuUs: number;
  wallMs: number;
  egressBytes: number;
  windowStart: number;
  windowEnd: number;
  nonce: string;
  /** Agent calls only: LLM tokens the host metered (their presence makes the receipt an agent call's). */
  llmTokens?: number;
  nodeSignature: string;
  clientSignature?: string;
}

const text = new TextEncoder();
/** Domain tags: neither signature can be replayed as the other, or as any other statement. */
const RECEIPT_DOMAIN = text.encode("fleek-network/compute-receipt/v1\0");
const ACK_DOMAIN = text.encode("fleek-network/compute-ack/v1\0");
const AGENT_RECEIPT_DOMAIN = text.encode("fleek-network/agent-call-receipt/v1\0");
const AGENT_ACK_DOMAIN = text.encode("fleek-network/agent-call-ack/v1\0");
/** Keys, root and hashes (5 × 32), five u64 figures, the nonce; an agent call adds a u64. */
const BODY_BYTES = 32 * 5 + 8 * 5 + 16;

/** domain ‖ keys, root, hashes ‖ five u64be figures ‖ nonce (‖ u64be LLM tokens for an agent call): fixed width, one encoding per receipt. */
function signedBytes(domain: Uint8Array, r: ComputeReceipt): Uint8Array {
  const out = new Uint8Array(domain.length + BODY_BYTES + (r.agent ? 8 : 0));
  const view = new DataView(out.buffer);
  out.set(domain);
  let at = domain.length;
  const bytes = (name: string, value: Uint8Array, length: number) => {
    if (value.length !== length) throw new Error(`${name} must have ${length} bytes, got ${value.length}`);
    out.set(value, at);
    at += length;
  };
  const u64 = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative safe integer`);
    view.setBigUint64(at, BigInt(value));
    at += 8;
  };
  bytes("nodeKey", r.nodeKey, 32);
  bytes("clientKey", r.clientKey, 32);
  bytes("functionRoot", r.functionRoot, 32);
  bytes("requestHash", r.requestHash, 32);
  bytes("responseHash", r.responseHash, 32);
  u64("cpuUs", r.cpuUs);
  u64("wallMs", r.wallMs);
  u64("egressBytes", r.egressBytes);
  u64("windowStart", r.windowStart);
  u64("windowEnd", r.windowEnd);
  bytes("nonce", r.nonce, 16);
  if (r.agent) u64("llmTokens", r.agent.llmTokens);
  return out;
}

/** What the node signs: the receipt's domain ‖ the receipt. */
export function encodeComputeReceipt(r: ComputeReceipt): Uint8Array {
  return signedBytes(r.agent ? AGENT_RECEIPT_DOMAIN : RECEIPT_DOMAIN, r);
}

/** What the client signs to acknowledge a receipt: the acknowledgment's domain ‖ the receipt. */
export function computeAckMessage(r: ComputeReceipt): Uint8Array {
  return signedBytes(r.agent ? AGENT_ACK_DOMAIN : ACK_DOMAIN, r);
}
