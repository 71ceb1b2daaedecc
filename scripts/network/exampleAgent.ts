/**
 * The example agent every local network hosts (docs/agents.md, "Dashboard"): `examples/agents/
 * counter.js` with its config `counter.json`, listed on AgentMarketplace by the developer account
 * as agent 1 and hosted by node 0. A node learns which agents it hosts from its config, not yet
 * from the marketplace (docs/agents-runtime.md, "Directory"), so node 0's config names agent "1"
 * with the files' roots, computed before the node starts; on a fresh chain the developer's first
 * registration is agent 1, the same id. The curl that calls it is printed by `npm start`.
 */
import fs from "node:fs";
import path from "node:path";
import { blake3 } from "hash-wasm";
import type { JsonRpcProvider } from "ethers";
import { hardhatAccount, ROLES } from "./accounts";
import type { Deployment } from "./chain";
import { deployedSuite } from "./contracts";
import { uploadThroughGateway } from "./exampleFunction";
import type { LocalNode } from "./nodes";

export const EXAMPLE_AGENT_BUNDLE = "examples/agents/counter.js";
export const EXAMPLE_AGENT_CONFIG = "examples/agents/counter.json";
/** Its id on AgentMarketplace and in node 0's config. */
const AGENT_ID = 1;
/** Its listing: 64 MiB reserved, 0.01 USDC per call. */
const MEMORY_MIB = 64;
const PRICE = 10_000n;

/** The example agent and how to call it. */
export interface ExampleAgent {
  id: number;
  url: string;
  curl: string;
}

/** Node 0's `services.agents` section: the example agent with its roots (64 hex) and owner. */
export async function exampleAgentService(root: string): Promise<Record<string, unknown>> {
  const rootOf = async (file: string) => blake3(fs.readFileSync(path.join(root, file)));
  return {
    agents: {
      [String(AGENT_ID)]: {
        config: await rootOf(EXAMPLE_AGENT_CONFIG),
        bundle: await rootOf(EXAMPLE_AGENT_BUNDLE),
        owner: hardhatAccount(ROLES.developer).address,
        memoryMiB: MEMORY_MIB,
        // Its calls are paid: charged from the caller's escrow at the marketplace's price (docs/agents.md "Payment of calls").
        marketId: AGENT_ID,
      },
    },
  };
}

/**
 * Lists the agent on AgentMarketplace from the files' roots, before epoch 1 starts: the nodes read
 * an agent's price at its epoch's first block (`priceAt`, a price applying from the epoch after it
 * was set), so an agent listed later in epoch 1 could not be paid for until epoch 2.
 */
export async function listExampleAgent(root: string, deployment: Deployment, provider: JsonRpcProvider): Promise<void> {
  const rootOf = async (file: string) => `0x${await blake3(fs.readFileSync(path.join(root, file)))}`;
  const market = deployedSuite(deployment, provider).agentMarketplace.connect(hardhatAccount(ROLES.developer, provider));
  if ((await market.agentCount()) === 0n)
    await (await market.register("counter", await rootOf(EXAMPLE_AGENT_CONFIG), await rootOf(EXAMPLE_AGENT_BUNDLE), MEMORY_MIB, PRICE)).wait();
}

/**
 * Stores the files on node 0 (idempotent) and checks the listing, then calls the agent until it
 * answers, so the printed curl works when it is printed.
 */
export async function deployExampleAgent(
  root: string,
  nodes: LocalNode[],
  deployment: Deployment,
  provider: JsonRpcProvider,
  /** The demo client's header (its payer bound by the example function's step): calls are paid. */
  client: Record<string, string>,
): Promise<ExampleAgent> {
  const files = [EXAMPLE_AGENT_CONFIG, EXAMPLE_AGENT_BUNDLE];
  await Promise.all(files.map((f) => uploadThroughGateway(nodes[0], fs.readFileSync(path.join(root, f)), path.basename(f))));
  const listed = await deployedSuite(deployment, provider).agentMarketplace.agents(AGENT_ID);
  if (listed.owner !== hardhatAccount(ROLES.developer).address) throw new Error(`agent ${AGENT_ID} on AgentMarketplace is not the example agent`);
  const url = `${nodes[0].gatewayUrl}/agents/${AGENT_ID}/`;
  await waitForAgent(url, client);
  const [[name, value]] = Object.entries(client);
  return { id: AGENT_ID, url, curl: `curl -i -X POST -H '${name}: ${value}' ${url}` };
}

/** Calls the agent until it answers 200: the agents service starts after the node reports ready, and opening an agent's store takes seconds. */
async function waitForAgent(url: string, headers: Record<string, string>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  let last = "no answer";
  for (;;) {
    const res = await fetch(url, { method: "POST", headers }).catch((err: Error) => err);
    if (!(res instanceof Error)) {
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
      if (res.status !== 503 && res.status !== 502) throw new Error(`the example agent answered ${last}`);
    }
    if (Date.now() > end) throw new Error(`the example agent did not answer within ${ms / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
