/**
 * A paying client of the node gateways, as the end-to-end tests drive it: it names the escrow
 * account that pays for its ack key (POST /acks/payer), fetches content and signs the delivery ack
 * the gateway drafts for what it received (GET /acks/draft, POST /acks), and calls functions and
 * agents and countersigns the compute receipts they answer with (POST /acks/compute).
 */
import { createHash, sign } from "node:crypto";
import { CLIENT_HEADER, RECEIPT_HEADER } from "../../node/acks/computeDesk";
import { computeAckFromJson, signComputeAck } from "../../node/acks/computeReceipt";
import type { ComputeAckJson } from "../../protocol/computeAck";
import { deliveryAckFromJson, deliveryAckToJson, type SignedDeliveryAckJson } from "../../node/acks/deliveryAck";
import { payerBindingToJson, signPayerBinding } from "../../node/acks/payerBinding";
import type { TestClient } from "../node/app/appFixtures";

/** POSTs `body` as JSON. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Binds `client`'s ack key to its escrow account at `gateway`; resolves with the gateway's status (202: taken). */
export async function bindPayer(gateway: string, client: TestClient): Promise<number> {
  const binding = payerBindingToJson(await signPayerBinding(client.privateKey, client.key, client.account));
  return (await postJson(`${gateway}/acks/payer`, binding)).status;
}

/** What {@link fetchAndAck} got: the content, the signed ack (to replay it) and the status of its POST (202: taken). */
export interface AckedFetch {
  body: Buffer;
  ack: SignedDeliveryAckJson;
  status: number;
}

/** Fetches content `hash` from `gateway` as `client` and acknowledges the bytes received. */
export async function fetchAndAck(gateway: string, hash: string, client: TestClient): Promise<AckedFetch> {
  const res = await fetch(`${gateway}/blake3/${hash}`);
  if (res.status !== 200) throw new Error(`GET ${gateway}/blake3/${hash}: ${res.status} ${await res.text()}`);
  const body = Buffer.from(await res.arrayBuffer());
  const draft = (await (await fetch(`${gateway}/acks/draft?hash=${hash}&bytes=${body.length}&client=${client.key.toString("hex")}`)).json()) as {
    ack: Record<string, unknown>;
    sign: string;
  };
  const signature = sign(null, Buffer.from(draft.sign, "hex"), client.privateKey).toString("hex");
  const ack = deliveryAckToJson(deliveryAckFromJson({ ...draft.ack, signature }));
  return { body, ack, status: (await postJson(`${gateway}/acks`, ack)).status };
}

/** The client's countersignature over a compute receipt it got: the receipt with `clientSignature` set. */
export function countersign(receipt: ComputeAckJson, client: TestClient): ComputeAckJson {
  const parsed = computeAckFromJson({ ...receipt, clientSignature: "00".repeat(64) });
  return { ...receipt, clientSignature: signComputeAck(parsed.receipt, client.privateKey).toString("hex") };
}

/** What {@link callAndAck} got: the answer, the node's receipt countersigned, and the status of its POST (202: taken). */
export interface AckedCall {
  body: string;
  ack: ComputeAckJson;
  /** The gateway that answered (after redirects), where the acknowledgment went. */
  servedBy: string;
  status: number;
}

/**
 * Calls a paid function or agent at `url` as `client` (its key in `x-fleek-client`), checks that
 * the receipt names what it received, countersigns it and posts the acknowledgment to the gateway
 * that answered. Throws on an answer other than 200 with a receipt.
 */
export async function callAndAck(url: string, client: TestClient, init: RequestInit = {}): Promise<AckedCall> {
  const res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), [CLIENT_HEADER]: client.key.toString("hex") } });
  const bytes = Buffer.from(await res.arrayBuffer());
  const body = bytes.toString();
  const header = res.headers.get(RECEIPT_HEADER);
  if (res.status !== 200 || !header) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${header ? "" : "without a receipt "}${body}`);
  const receipt = JSON.parse(header) as ComputeAckJson;
  // A client acknowledges only what it got: the response hash is SHA-256 of the body.
  if (receipt.responseHash !== createHash("sha256").update(bytes).digest("hex")) throw new Error(`${url}: the receipt names another response`);
  const ack = countersign(receipt, client);
  const servedBy = new URL(res.url).origin;
  return { body, ack, servedBy, status: (await postJson(`${servedBy}/acks/compute`, ack)).status };
}
