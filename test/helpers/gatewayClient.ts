/**
 * A paying content client of the node gateways, as the end-to-end tests drive it: it names the
 * escrow account that pays for its ack key (POST /acks/payer), fetches content, and signs the
 * delivery ack the gateway drafts for what it received (GET /acks/draft, POST /acks).
 */
import { sign } from "node:crypto";
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
