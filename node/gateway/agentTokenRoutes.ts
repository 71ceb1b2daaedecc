/**
 * Agent calls paid in the owner's creator token (docs/agents.md "Calls paid in the creator
 * token"): a client asks for it with `x-fleek-pay: token` and sends with each call a voucher in
 * `x-fleek-voucher` (JSON `{caller, token, cumulative, signature}`: the EIP-712 Voucher for this
 * agent's marketplace id and this node, cumulative as a decimal string). The node's
 * TokenCallDesk admits the call against the caller's deposit in TokenCallEscrow, or answers 402
 * before the agent runs; the voucher is the payment, so no compute receipt is signed.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { AGENT_METER_HEADER } from "../agents/agentRecords";
import type { TokenCallDesk } from "../acks/tokenCallDesk";
import { replyError } from "./httpReplies";
import type { ServiceRouter } from "./gatewayServer";

/** The header a client asks for token payment with (`token`). */
export const PAY_HEADER = "x-fleek-pay";
/** The header that carries the call's voucher. */
export const VOUCHER_HEADER = "x-fleek-voucher";
/** Longest voucher header: its JSON is about 300 bytes. */
const MAX_VOUCHER_BYTES = 1_024;

/** What the gateway needs to take token-paid agent calls. */
export interface TokenPaidAgents {
  desk: TokenCallDesk;
  /** This node's id in the registry (vouchers name it). */
  nodeId: number;
  /** The AgentMarketplace id of a hosted agent, or undefined: not listed. */
  marketId: (agent: string) => bigint | undefined;
  /** The current epoch (its token price is the call's). */
  epoch: () => Promise<number>;
}

/** Whether the client asks to pay this call in the creator token. */
export function wantsTokenPayment(req: IncomingMessage): boolean {
  return req.headers[PAY_HEADER] === "token";
}

/** A token-paid call: admitted against the caller's deposit (402 otherwise), then forwarded to the agents service. */
export async function routeTokenPaidCall(
  paid: TokenPaidAgents,
  services: ServiceRouter,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  forward: string,
): Promise<void> {
  const marketId = paid.marketId(id);
  if (marketId === undefined) return replyError(res, 402, `agent ${id} is not listed on the marketplace: its calls cannot be paid`);
  const raw = req.headers[VOUCHER_HEADER];
  const parsed = typeof raw === "string" && raw.length <= MAX_VOUCHER_BYTES ? parseVoucher(raw) : undefined;
  if (!parsed)
    return replyError(
      res,
      402,
      `token-paid calls need ${VOUCHER_HEADER}: {"caller","token","cumulative" (decimal),"signature"}, the EIP-712 Voucher for agent ${marketId} on node ${paid.nodeId}`,
    );
  const voucher = { caller: parsed.caller, agentId: marketId, nodeId: paid.nodeId, token: parsed.token, cumulative: parsed.cumulative };
  const refusal = await paid.desk.admit(marketId, await paid.epoch(), { voucher, signature: parsed.signature });
  if (refusal) return replyError(res, 402, refusal);
  services.route("agents", req, res, forward, stripAgentMeter);
}

function parseVoucher(raw: string): { caller: string; token: string; cumulative: bigint; signature: string } | undefined {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    const address = /^0x[0-9a-fA-F]{40}$/;
    if (typeof v.caller !== "string" || !address.test(v.caller) || typeof v.token !== "string" || !address.test(v.token)) return undefined;
    if (typeof v.cumulative !== "string" || !/^[0-9]{1,78}$/.test(v.cumulative)) return undefined;
    if (typeof v.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(v.signature)) return undefined;
    return { caller: v.caller, token: v.token, cumulative: BigInt(v.cumulative), signature: v.signature };
  } catch {
    return undefined;
  }
}

/** The service's meter stays inside the node: a token-paid call has no compute receipt. */
function stripAgentMeter(_: number, headers: IncomingHttpHeaders | undefined): IncomingHttpHeaders | undefined {
  if (!headers) return headers;
  const { [AGENT_METER_HEADER]: _meter, ...rest } = headers;
  return rest;
}
