import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { AppContext, type AppState } from "../src/AppContext";
import { WalletProvider } from "../src/wallet/WalletContext";
import Agents from "../src/pages/Agents";
import {
  callAgent,
  leaseFundingRefusal,
  leaseText,
  ownerRefusal,
  parseAgentName,
  parseAgentPath,
  parseCallPrice,
  parseLeaseFunding,
  parseMemoryMiB,
  parseOwnTokenPrice,
  parseTokenPrice,
  tokenPriceLabel,
  tokenPriceRefusal,
} from "../src/lib/agents";
import type { AgentInfo, DashboardData } from "../src/data/source";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;

describe("AgentMarketplace's rules before the wallet", () => {
  it("names: 1 to 64 bytes of UTF-8", () => {
    expect(parseAgentName("Support bot")).toEqual({ value: "Support bot" });
    expect(parseAgentName("é".repeat(32))).toEqual({ value: "é".repeat(32) });
    expect(parseAgentName("é".repeat(33))).toEqual({ error: "A name has 1 to 64 bytes (UTF-8)." });
    expect(parseAgentName("")).toEqual({ error: "A name has 1 to 64 bytes (UTF-8)." });
  });
  it("memory: 1 to 4,096 MiB, whole", () => {
    expect(parseMemoryMiB("64")).toEqual({ value: 64 });
    expect(parseMemoryMiB("4096")).toEqual({ value: 4096 });
    const error = "Memory is a whole number of MiB from 1 to 4,096.";
    for (const bad of ["0", "4097", "1.5", "", "-1"]) expect(parseMemoryMiB(bad)).toEqual({ error });
  });
  it("USDC price: 0 to 1,000 USDC, at most 6 decimals", () => {
    expect(parseCallPrice("0")).toEqual({ value: 0n });
    expect(parseCallPrice("0.000001")).toEqual({ value: 1n });
    expect(parseCallPrice("1,000")).toEqual({ value: 1_000_000_000n });
    expect(parseCallPrice("1000.000001")).toEqual({ error: "A call costs at most 1,000 USDC." });
    expect(parseCallPrice("0.0000001")).toEqual({ error: "At most 6 decimals." });
    expect(parseCallPrice("abc")).toEqual({ error: "Enter a number, like 100 or 0.5." });
  });
  it("token price: empty is none, at most 10^9 tokens of 18 decimals", () => {
    expect(parseTokenPrice("")).toEqual({ value: 0n });
    expect(parseTokenPrice("2.5")).toEqual({ value: 2_500_000_000_000_000_000n });
    expect(parseTokenPrice("1000000000")).toEqual({ value: 10n ** 27n });
    expect(parseTokenPrice("1000000000.000000000000000001")).toEqual({ error: "A token price is at most 1,000,000,000 tokens per call." });
  });
  it("only the owner manages an agent, and a token price needs the owner's token", () => {
    expect(ownerRefusal(ALICE, ALICE.toLowerCase())).toBe(undefined);
    expect(ownerRefusal(ALICE, BOB)).toBe(`Only the agent's owner (${ALICE}) can change it.`);
    expect(tokenPriceRefusal(0n, false)).toBe(undefined);
    expect(tokenPriceRefusal(1n, true)).toBe(undefined);
    expect(tokenPriceRefusal(1n, false)).toBe("A token price needs your creator token: launch it on the Creator tokens page first.");
  });
  it("the owner forms' token price: refused at once without a creator token, left to the chain while it is read, named by its symbol", () => {
    const none = "A token price needs your creator token: launch it on the Creator tokens page first.";
    expect(parseOwnTokenPrice("2", null)).toEqual({ error: none });
    expect(parseOwnTokenPrice("", null)).toEqual({ value: 0n });
    expect(parseOwnTokenPrice("0", null)).toEqual({ value: 0n });
    expect(parseOwnTokenPrice("2", undefined)).toEqual({ value: 2_000_000_000_000_000_000n });
    expect(parseOwnTokenPrice("2", { symbol: "ALICE" })).toEqual({ value: 2_000_000_000_000_000_000n });
    // A bad amount keeps its own reason, whatever the token.
    expect(parseOwnTokenPrice("1e3", null)).toEqual({ error: "Enter a number, like 100 or 0.5." });
    expect(parseOwnTokenPrice("1000000001", { symbol: "ALICE" })).toEqual({ error: "A token price is at most 1,000,000,000 tokens per call." });
    expect(tokenPriceLabel({ symbol: "ALICE" })).toBe("Price per call in your creator token (ALICE) (optional, at most 1,000,000,000; empty or 0: none)");
    expect(tokenPriceLabel(null)).toBe("Price per call in your creator token (optional; you have none yet: launch it on the Creator tokens page)");
  });
  it("lease funding: more than 0 USDC, at most 6 decimals, at most what the wallet holds; the lease in words", () => {
    expect(parseLeaseFunding("1.75")).toEqual({ value: 1_750_000n });
    expect(parseLeaseFunding("0")).toEqual({ error: "The amount must be more than zero." });
    expect(parseLeaseFunding("0.0000001").error).toBeTruthy();
    expect(leaseFundingRefusal(1_750_000n, 1_750_000n)).toBe(undefined);
    expect(leaseFundingRefusal(1_750_001n, 1_750_000n)).toBe("Your wallet holds 1.75 USDC.");
    // 1,800,000,000 s is 2027-01-15 08:00 UTC.
    expect(leaseText(1_800_000_000, false)).toBe("Funded until 2027-01-15 08:00 UTC");
    expect(leaseText(0, false)).toBe("Paused: not charged");
    expect(leaseText(1_800_000_000, true)).toBe("Paused: not charged");
    expect(leaseText(null, false)).toBe("Free hosting");
    expect(leaseText(1_800_000_000, false, 1_800_000_000)).toBe("Ran out 2027-01-15 08:00 UTC: calls refused until funded");
    expect(leaseText(1_800_000_000, false, 1_799_999_999)).toBe("Funded until 2027-01-15 08:00 UTC");
  });
  it("paths: from '/', no '..', no spaces, at most 1,024 characters", () => {
    expect(parseAgentPath("")).toEqual({ value: "/" });
    expect(parseAgentPath("/chat?q=1")).toEqual({ value: "/chat?q=1" });
    expect(parseAgentPath("chat")).toEqual({ error: "A path starts with '/'." });
    expect(parseAgentPath("/a/../_fleek/usage")).toEqual({ error: "A path has no spaces, control characters or '..'." });
    expect(parseAgentPath("/a b")).toEqual({ error: "A path has no spaces, control characters or '..'." });
    expect(parseAgentPath(`/${"a".repeat(1_024)}`)).toEqual({ error: "A path has at most 1,024 characters." });
  });
});

describe("callAgent (/agents/<id>/<path> on a gateway)", () => {
  const gateway = (status: number, body: string, headers: Record<string, string>, seen: { url: string; init: RequestInit }[]) =>
    (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(body, { status, headers });
    }) as unknown as typeof fetch;

  it("GETs without a body, POSTs JSON as JSON and text as text, and reports the node's receipt", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const answer = await callAgent(
      "http://127.0.0.1:5173/gateways/0/",
      3,
      "/chat",
      "",
      gateway(200, '{"n":1}', { "content-type": "application/json", "x-fleek-receipt": "r" }, seen),
    );
    expect(answer).toEqual({ status: 200, contentType: "application/json", body: '{"n":1}', truncated: false, receipt: true });
    expect(seen[0]).toEqual({ url: "http://127.0.0.1:5173/gateways/0/agents/3/chat", init: { method: "GET" } });
    await callAgent("http://g", 3, "/", '{"q":"hi"}', gateway(200, "", {}, seen));
    expect(seen[1].init).toEqual({ method: "POST", headers: { "content-type": "application/json" }, body: '{"q":"hi"}' });
    const refused = await callAgent("http://g", 9, "/", "hello", gateway(404, '{"error":"this node does not host agent 9"}', {}, seen));
    expect(seen[2].init.headers).toEqual({ "content-type": "text/plain;charset=utf-8" });
    expect([refused.status, refused.receipt, refused.body]).toEqual([404, false, '{"error":"this node does not host agent 9"}']);
  });

  it("cuts long answers, refuses bodies over 1 MiB and says when the gateway is unreachable", async () => {
    const long = await callAgent("http://g", 1, "/", "", gateway(200, "x".repeat(70_000), {}, []));
    expect([long.body.length, long.truncated]).toEqual([65_536, true]);
    await expect(callAgent("http://g", 1, "/", "x".repeat(1_048_577), gateway(200, "", {}, []))).rejects.toThrow("A request body is at most 1,048,576 bytes.");
    const down = (async () => Promise.reject(new TypeError("fetch failed"))) as unknown as typeof fetch;
    await expect(callAgent("http://g", 1, "/", "", down)).rejects.toThrow("The gateway at http://g is unreachable from this page");
  });
});

describe("Agents page", () => {
  const agents: AgentInfo[] = [
    {
      id: 1,
      name: "support bot",
      owner: ALICE,
      version: 2,
      configRoot: R1,
      bundleRoot: R2,
      memoryMiB: 64,
      paused: false,
      leaseEndsAt: 1_800_000_000,
      price: { price: 10_000n, token: null, tokenPrice: 0n, fromEpoch: 4 },
      calls: 1_234n,
      charged: 12_340_000n,
      revenue: 12_340_000n,
      toOwner: 8_638_000n,
    },
    {
      id: 2,
      name: "tutor",
      owner: BOB,
      version: 1,
      configRoot: R2,
      bundleRoot: R2,
      memoryMiB: 128,
      paused: true,
      leaseEndsAt: 0,
      price: { price: 1n, token: "0x00000000000000000000000000000000000000aa", tokenPrice: 5n * 10n ** 17n, fromEpoch: 2 },
      calls: 0n,
      charged: 0n,
      revenue: 0n,
      toOwner: 0n,
    },
  ];
  const data = {
    agents: async () => agents,
    creatorTokens: async () => [{ creator: BOB, token: "0x00000000000000000000000000000000000000AA", symbol: "TUTR" }],
    agentMarket: async () => ({
      split: { nodeBps: 2_000, ownerBps: 7_000, protocolBps: 1_000 },
      agentCount: 2,
      revenue: 12_340_000n,
      toOwners: 8_638_000n,
      toProtocol: 1_234_000n,
      settlements: [
        { epoch: 5, amount: 10_000_000n, toProtocol: 1_000_000n },
        { epoch: 4, amount: 2_340_000n, toProtocol: 234_000n },
      ],
    }),
  } as unknown as DashboardData;
  const app: AppState = {
    deployment: { chainId: 31337, rpcUrl: "http://127.0.0.1:1", contracts: {} as AppState["deployment"]["contracts"], gateways: ["http://127.0.0.1:4220"] },
    data,
    version: 0,
    refresh: () => {},
    sawBlock: () => {},
  };

  /** The page without a connected wallet. */
  const renderPage = () =>
    render(
      <WalletProvider expectedChainId={31337}>
        <AppContext.Provider value={app}>
          <Agents />
        </AppContext.Provider>
      </WalletProvider>,
    );

  it("lists agents with price, state, calls and revenue, the burns, calls one through the gateway, and asks for a wallet for spend and ownership", async () => {
    const seen: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      seen.push(url);
      return new Response('{"reply":"hello"}', { status: 200, headers: { "content-type": "application/json", "x-fleek-receipt": "r" } });
    });
    renderPage();
    const rows = await screen.findAllByTestId("agent-row");
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["support bot", "tutor"]);
    expect(rows.map((r) => within(r).getByTestId("agent-price").textContent)).toEqual(["0.01 USDC from epoch 4", "0.000001 USDC or 0.5 TUTR from epoch 2"]);
    expect(rows.map((r) => within(r).getByTestId("agent-state").textContent)).toEqual(["Listed", "Paused"]);
    expect(rows.map((r) => within(r).getByTestId("agent-lease").textContent)).toEqual(["Funded until 2027-01-15 08:00 UTC", "Paused: not charged"]);
    expect(rows.map((r) => within(r).getByTestId("agent-calls").textContent)).toEqual(["1,234", "0"]);
    expect(rows.map((r) => within(r).getByTestId("agent-charged").textContent)).toEqual(["12.34 USDC", "0 USDC"]);
    expect(rows.map((r) => within(r).getByTestId("agent-owner-share").textContent)).toEqual(["8.638 USDC", "0 USDC"]);
    expect(within(rows[1]).getByRole("button", { name: "Call" }).hasAttribute("disabled")).toBe(true);
    expect((await screen.findByTestId("market-burns")).textContent).toBe("1.234 USDC");
    expect(screen.getByTestId("market-split").textContent).toContain("20% to the serving node, 70% to the agent's owner and 10% to BuybackBurner");
    expect(screen.getAllByTestId("settlement-row").map((r) => r.textContent)).toEqual(["510 USDC1 USDC", "42.34 USDC0.234 USDC"]);
    expect(screen.getByText("Connect a wallet to see your spend.")).toBeTruthy();
    expect(screen.getByText("Connect a wallet to deploy and manage agents.")).toBeTruthy();

    // "Call" fills the form with the agent's id; the answer comes from the gateway's /agents/1/ path.
    fireEvent.click(within(rows[0]).getByRole("button", { name: "Call" }));
    expect((screen.getByTestId("call-id") as HTMLInputElement).value).toBe("1");
    fireEvent.change(screen.getByTestId("call-path"), { target: { value: "/chat" } });
    fireEvent.click(within(screen.getByRole("form", { name: "Call an agent" })).getByRole("button", { name: "Call" }));
    expect((await screen.findByTestId("answer-body")).textContent).toBe('{"reply":"hello"}');
    expect(screen.getByTestId("agent-answer").textContent).toContain("HTTP 200, receipt signed by the node");
    expect(seen).toEqual(["http://127.0.0.1:4220/agents/1/chat"]);
  });

  it("says a call goes unpaid without a wallet, and puts a 402's figures in words with where to deposit", async () => {
    const error = "escrow account 0xabc cannot cover this request in epoch 5: 1200 USDC units left, a request may cost 10002";
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ error }), { status: 402, headers: { "content-type": "application/json" } }));
    renderPage();
    fireEvent.click(within((await screen.findAllByTestId("agent-row"))[0]).getByRole("button", { name: "Call" }));
    expect(screen.getByTestId("call-payment").textContent).toBe(
      "Connect a wallet to pay for calls from your escrow account: without one, a node that charges for the agent answers 402.",
    );
    fireEvent.click(within(screen.getByRole("form", { name: "Call an agent" })).getByRole("button", { name: "Call" }));
    expect((await screen.findByTestId("call-refusal")).textContent).toBe(
      "Your escrow account can pay 0.0012 USDC more in epoch 5; a call may cost 0.010002 USDC. Deposit to escrow (or raise its spending limit) on the Account page.",
    );
    expect(screen.getByTestId("answer-status").textContent).toBe("402");
  });
});
