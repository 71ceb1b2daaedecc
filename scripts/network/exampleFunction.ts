/**
 * The example edge function every local network serves (docs/network.md, "The example function"):
 * `examples/functions/hello.js` added to node 0's blockstore through the gateway's upload path
 * (`POST /origins` from a one-shot local origin, as an operator adds content), registered on
 * FunctionRegistry by the developer account, and a demo client key bound at every gateway to the
 * escrow account of the first service client (seeded with USDC), so the call is paid and carries
 * a signed receipt. The curl that calls it is printed by `npm start` and shown in the README.
 */
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { keccak256, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { CLIENT_HEADER, RECEIPT_HEADER } from "../../node/acks/computeDesk";
import { ed25519PrivateKeyFromSeed, rawEd25519PublicKey } from "../../node/acks/ed25519Keys";
import { payerBindingToJson, signPayerBinding } from "../../node/acks/payerBinding";
import { DEMO_CLIENT_SEED, hardhatAccount, ROLES } from "./accounts";
import type { Deployment } from "./chain";
import { deployedSuite } from "./contracts";
import type { LocalNode } from "./nodes";

/** The example's name on FunctionRegistry. */
export const EXAMPLE_NAME = "hello";
/** The bundle, relative to the repository root. */
export const EXAMPLE_BUNDLE = "examples/functions/hello.js";
/** The path the printed curl calls the function with. */
export const EXAMPLE_PATH = "/hello";
/** The limits it is registered with: the node's defaults (docs/functions.md, "Limits"). */
const LIMITS = { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 };

/** The deployed example and how to call it. */
export interface ExampleFunction {
  name: string;
  /** Content root (b3sum of the bundle), 64 hex. */
  root: string;
  /** The demo client's Ed25519 public key (hex): the `x-fleek-client` header's value. */
  clientKey: string;
  /** What the curl fetches. */
  url: string;
  headers: Record<string, string>;
  /** The ready-to-paste command. */
  curl: string;
}

/**
 * Deploys the example (idempotent: on a resumed network the bundle is stored and registered
 * already, and only the payer bindings, which nodes keep in memory, are made again), then calls it
 * until it answers with a receipt, so the printed curl works when it is printed.
 */
export async function deployExampleFunction(root: string, nodes: LocalNode[], deployment: Deployment, provider: JsonRpcProvider): Promise<ExampleFunction> {
  const bundle = fs.readFileSync(path.join(root, EXAMPLE_BUNDLE));
  const hash = await uploadThroughGateway(nodes[0], bundle, path.basename(EXAMPLE_BUNDLE));

  const registry = deployedSuite(deployment, provider).functionRegistry.connect(hardhatAccount(ROLES.developer, provider));
  const id = await registry.idOfName(keccak256(toUtf8Bytes(EXAMPLE_NAME)));
  if (id === 0n) await (await registry.register(EXAMPLE_NAME, `0x${hash}`, LIMITS)).wait();
  else if ((await registry.resolve(EXAMPLE_NAME)).latest.root !== `0x${hash}`) await (await registry.publish(id, `0x${hash}`, LIMITS)).wait();

  const clientPrivateKey = ed25519PrivateKeyFromSeed(Buffer.from(DEMO_CLIENT_SEED, "hex"));
  const clientKey = rawEd25519PublicKey(clientPrivateKey);
  const binding = payerBindingToJson(await signPayerBinding(clientPrivateKey, clientKey, hardhatAccount(ROLES.clients[0])));
  for (const n of nodes) {
    const res = await fetch(`${n.gatewayUrl}/acks/payer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(binding) });
    if (res.status !== 202) throw new Error(`node ${n.index} refused the demo client's payer binding: ${res.status} ${await res.text()}`);
  }

  const url = `${nodes[0].gatewayUrl}/fn/blake3/${hash}${EXAMPLE_PATH}`;
  const headers = { [CLIENT_HEADER]: clientKey.toString("hex") };
  await waitForAnswer(url, headers);
  return {
    name: EXAMPLE_NAME,
    root: hash,
    clientKey: clientKey.toString("hex"),
    url,
    headers,
    curl: `curl -i -H '${CLIENT_HEADER}: ${headers[CLIENT_HEADER]}' ${url}`,
  };
}

/** Adds `content` to `node`'s blockstore with POST /origins from a local origin that serves it once as `fileName`; resolves with its root. */
export async function uploadThroughGateway(
  node: Pick<LocalNode, "index" | "gatewayUrl" | "operatorToken">,
  content: Buffer,
  fileName: string,
): Promise<string> {
  const type = fileName.endsWith(".json") ? "application/json" : "text/javascript";
  const origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": type }).end(content));
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  try {
    const res = await fetch(`${node.gatewayUrl}/origins`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.operatorToken}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `http://127.0.0.1:${(origin.address() as net.AddressInfo).port}/${fileName}` }),
    });
    if (res.status !== 201) throw new Error(`node ${node.index} refused ${fileName}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { hash: string }).hash;
  } finally {
    await new Promise((resolve) => origin.close(resolve));
  }
}

/** Calls the function until it answers 200 with a receipt: the functions service starts after the node reports ready. */
async function waitForAnswer(url: string, headers: Record<string, string>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  let last = "no answer";
  for (;;) {
    const res = await fetch(url, { headers }).catch((err: Error) => err);
    if (!(res instanceof Error)) {
      if (res.status === 200 && res.headers.has(RECEIPT_HEADER)) return;
      last = `${res.status} ${await res.text()}`;
      // 503 while the service starts; anything else will not change by waiting.
      if (res.status !== 503) throw new Error(`the example function answered ${last}`);
    }
    if (Date.now() > end) throw new Error(`the example function did not answer within ${ms / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
