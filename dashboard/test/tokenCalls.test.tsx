import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { JsonRpcProvider, JsonRpcSigner, Wallet } from "ethers";
import { AppContext, type AppState } from "../src/AppContext";
import { TokenPaymentFields } from "../src/pages/TokenPayment";
import {
  callAgentWithToken,
  channelSlot,
  gatewayTokenNode,
  nextCumulative,
  recordVouched,
  storedCumulative,
  tokenRefusal,
  type TokenPayer,
} from "../src/lib/tokenCalls";
import { formatToken } from "../src/lib/format";
import { tokenChannelId, tokenVoucherDomain, tokenVoucherSignatureFault } from "../../protocol/tokenVoucher";
import type { TokenCallsData } from "../src/hooks/useTokenCalls";
import type { AgentInfo, DashboardData } from "../src/data/source";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const TOKEN = "0x00000000000000000000000000000000000000aa";
const ESCROW = "0x0000000000000000000000000000000000000010";
const TOKENS = 10n ** 18n;

/** A page's storage in memory. */
function memoryStorage(entries: Record<string, string> = {}) {
  const map = new Map(Object.entries(entries));
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), map };
}

describe("token-paid calls: the channel's cumulative", () => {
  it("starts the next voucher one price above the larger of the channel's redemptions and what the page vouched", () => {
    expect(nextCumulative(0n, 0n, 2n)).toBe(2n);
    // A node redeemed past what this page stored (vouchers from another browser): the chain's figure counts.
    expect(nextCumulative(10n, 4n, 2n)).toBe(12n);
    expect(nextCumulative(4n, 10n, 2n)).toBe(12n);
  });

  it("keeps a channel's figure per chain and escrow, reads it only as a decimal uint256, and recording never lowers it", () => {
    const channel = `0x${"Ab".repeat(32)}`;
    const slot = channelSlot(tokenVoucherDomain(31337n, ESCROW), channel);
    expect(slot).toBe(`fleek.agents.tokenChannel.31337.${ESCROW}.0x${"ab".repeat(32)}`);
    expect(channelSlot(tokenVoucherDomain(8453n, ESCROW), channel)).not.toBe(slot);
    for (const junk of ["", "abc", "-1", "1e18", "1".repeat(79)]) expect(storedCumulative(memoryStorage({ [slot]: junk }), slot)).toBe(0n);
    const storage = memoryStorage();
    recordVouched(storage, slot, 6n);
    recordVouched(storage, slot, 4n);
    expect(storedCumulative(storage, slot)).toBe(6n);
    expect(storage.map.get(slot)).toBe("6");
  });

  it("signs each voucher with the wallet, sends it with x-fleek-pay: token, and keeps it only when the node admitted the call", async () => {
    const wallet = new Wallet(`0x${"42".repeat(32)}`);
    const domain = tokenVoucherDomain(31337n, ESCROW);
    const channel = { caller: wallet.address, agentId: 7n, nodeId: 3, token: TOKEN };
    const storage = memoryStorage();
    const sent: { url: string; headers: Record<string, string> }[] = [];
    let status = 200;
    const gateway = (async (url: string, init: RequestInit) => {
      sent.push({ url, headers: init.headers as Record<string, string> });
      return new Response(status === 200 ? '{"calls":1}' : '{"error":"no"}', { status });
    }) as unknown as typeof fetch;
    let redeemed = 0n;
    const payer: TokenPayer = { signer: wallet, storage, domain, channel, redeemed: async () => redeemed, price: 2n * TOKENS };
    const call = () => callAgentWithToken("http://g/", 7, "/", "", payer, gateway);
    const vouchers = () =>
      sent.map(({ headers }) => {
        const v = JSON.parse(headers["x-fleek-voucher"]) as { caller: string; token: string; cumulative: string; signature: string };
        const voucher = { ...channel, caller: v.caller, token: v.token, cumulative: BigInt(v.cumulative) };
        return [headers["x-fleek-pay"], v.cumulative, tokenVoucherSignatureFault(domain, voucher, v.signature) === undefined];
      });

    expect((await call()).cumulative).toBe(2n * TOKENS);
    expect(sent[0].url).toBe("http://g/agents/7/");
    await call();
    status = 402;
    await call();
    // Refused: not recorded, so the next voucher asks for the same figure.
    await call();
    status = 200;
    redeemed = 10n * TOKENS;
    await call();
    expect(vouchers()).toEqual([
      ["token", "2000000000000000000", true],
      ["token", "4000000000000000000", true],
      ["token", "6000000000000000000", true],
      ["token", "6000000000000000000", true],
      ["token", "12000000000000000000", true],
    ]);
    expect(storedCumulative(storage, channelSlot(domain, tokenChannelId(channel)))).toBe(12n * TOKENS);
  });

  it("says in words that the deposit is too small, with its figures in tokens; other refusals as the node gives them", () => {
    const fmt = (wei: bigint) => formatToken(wei, "AGT");
    const desk = `the deposit of ${ESCROW} in ${TOKEN} for node 3 covers 1000000000000000000 (less a requested withdrawal), 2000000000000000000 would be vouched to this node over all its agents: deposit more for node 3 in TokenCallEscrow`;
    expect(tokenRefusal(desk, fmt)).toBe(
      "Your deposit for node #3 covers 1 AGT (less a requested withdrawal), and with this call you would owe it 2 AGT over all its agents: deposit more of the creator token above.",
    );
    expect(tokenRefusal("the voucher is not signed by its caller 0x1", fmt)).toBe(
      "The node refused to serve the call (402): the voucher is not signed by its caller 0x1",
    );
  });
});

describe("token-paid calls: the gateway's node", () => {
  const answering = (status: number, body: string) => (async () => new Response(body, { status })) as unknown as typeof fetch;

  it("reads the node that admits token calls from the gateway's /health, null when it takes none", async () => {
    const asked: string[] = [];
    const gateway = (async (url: string) => {
      asked.push(url);
      return new Response('{"ok":true,"node":"ab","tokenNodeId":4}');
    }) as unknown as typeof fetch;
    expect(await gatewayTokenNode("http://g//", gateway)).toBe(4);
    expect(asked).toEqual(["http://g/health"]);
    expect(await gatewayTokenNode("http://g", answering(200, '{"ok":true,"node":null,"tokenNodeId":null}'))).toBe(null);
    // Anything but a registry id (uint32 from 1) is no node: the page never deposits for it.
    for (const junk of ['"4"', "0", "-1", "1.5", "4294967296"])
      expect(await gatewayTokenNode("http://g", answering(200, `{"tokenNodeId":${junk}}`))).toBe(null);
    expect(await gatewayTokenNode("http://g", answering(200, "not json"))).toBe(null);
  });

  it("says when the gateway cannot be asked", async () => {
    await expect(gatewayTokenNode("http://g", answering(503, ""))).rejects.toThrow("The gateway at http://g answered 503 to GET /health.");
    const down = (async () => {
      throw new TypeError("fetch failed");
    }) as unknown as typeof fetch;
    await expect(gatewayTokenNode("http://g", down)).rejects.toThrow("The gateway at http://g is unreachable from this page");
  });
});

describe("token-paid calls: the page's deposit and call fields", () => {
  const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const agent: AgentInfo = {
    id: 7,
    name: "support bot",
    owner: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    version: 1,
    configRoot: `0x${"11".repeat(32)}`,
    bundleRoot: `0x${"22".repeat(32)}`,
    memoryMiB: 64,
    paused: false,
    leaseEndsAt: null,
    price: { price: 1n, token: TOKEN, tokenPrice: 2n * TOKENS, fromEpoch: 9 },
    calls: 0n,
    charged: 0n,
    revenue: 0n,
    toOwner: 0n,
  };
  const data: TokenCallsData = {
    epoch: 9,
    token: TOKEN,
    symbol: "AGT",
    price: 2n * TOKENS,
    balance: 3n * TOKENS,
    pending: 0n,
    readyAt: 0n,
    wallet: 4n * TOKENS,
    now: 1_767_225_000n,
  };
  const app: AppState = {
    deployment: {
      chainId: 31337,
      rpcUrl: "http://127.0.0.1:1",
      contracts: new Proxy({}, { get: (_, name) => (name === "tokenCallEscrow" ? ESCROW : `0x${"01".repeat(20)}`) }) as AppState["deployment"]["contracts"],
    },
    data: {} as DashboardData,
    version: 0,
    refresh: () => {},
    sawBlock: () => {},
  };
  const signer = new JsonRpcSigner(new JsonRpcProvider("http://127.0.0.1:1", 31337, { staticNetwork: true }), ALICE);
  const renderFields = (d: TokenCallsData, call?: (payment: TokenPayer, symbol: string) => Promise<void>) =>
    render(
      <AppContext.Provider value={app}>
        <TokenPaymentFields data={d} nodeId={3} agent={agent} signer={signer} account={ALICE} busy={false} call={call} />
      </AppContext.Provider>,
    );
  const button = (name: string) => screen.getByRole("button", { name }) as HTMLButtonElement;

  it("shows the deposit, a requested withdrawal and the epoch's price, and checks the amount before the two steps", () => {
    renderFields({ ...data, pending: TOKENS, readyAt: 1_767_225_600n });
    expect(["token-node", "token-deposit", "token-withdrawal", "token-price", "token-wallet"].map((t) => screen.getByTestId(t).textContent)).toEqual([
      "#3",
      "3 AGT",
      "1 AGT from 2026-01-01 00:00 UTC",
      "2 AGT",
      "4 AGT",
    ]);
    const amount = screen.getByLabelText("Amount to deposit");
    fireEvent.change(amount, { target: { value: "5" } });
    expect(screen.getByText("Your wallet holds 4 AGT.")).toBeTruthy();
    expect(button("Deposit").disabled).toBe(true);
    fireEvent.change(amount, { target: { value: "0" } });
    expect(screen.getByText("The amount must be more than zero.")).toBeTruthy();
    expect(button("Deposit").disabled).toBe(true);
    fireEvent.change(amount, { target: { value: "2" } });
    expect(button("Deposit").disabled).toBe(false);
    // The allowance is unknown here (no chain): the approval is shown as a step to do.
    expect(screen.getByTestId("approval-steps").textContent?.replace(/\s+/g, " ").trim()).toBe(
      "Approve 2 AGT for TokenCallEscrow (to do)Deposit 2 AGT (to do)",
    );
  });

  it("requests a withdrawal of at most the deposit, and offers to withdraw once the chain's time reaches readyAt", () => {
    renderFields(data);
    expect(screen.getByTestId("token-withdraw-note").textContent).toBe(
      "A withdrawal is requested first and taken after a delay, so the node can redeem the calls it served.",
    );
    expect([button("Request withdrawal").disabled, button("Withdraw").disabled]).toEqual([true, true]);
    const amount = screen.getByLabelText("Amount to withdraw");
    fireEvent.change(amount, { target: { value: "4" } });
    expect(screen.getByText("Your deposit for node #3 holds 3 AGT.")).toBeTruthy();
    expect(button("Request withdrawal").disabled).toBe(true);
    fireEvent.change(amount, { target: { value: "3" } });
    expect(button("Request withdrawal").disabled).toBe(false);
    cleanup();
    // Requested, one second before it is ready by the chain's clock.
    renderFields({ ...data, pending: TOKENS, readyAt: 1_767_225_600n, now: 1_767_225_599n });
    expect(button("Withdraw").disabled).toBe(true);
    expect(screen.getByTestId("token-withdraw-note").textContent).toBe("1 AGT can be withdrawn from 2026-01-01 00:00 UTC; it no longer backs new calls.");
    cleanup();
    renderFields({ ...data, pending: TOKENS, readyAt: 1_767_225_600n, now: 1_767_225_600n });
    expect(button("Withdraw").disabled).toBe(false);
    expect(screen.getByTestId("token-withdraw-note").textContent).toBe("1 AGT can be withdrawn now (less what the node redeemed meanwhile).");
  });

  it("calls with the token through the call form, on the channel of the caller, agent, the gateway's node and token", () => {
    const call = vi.fn(async () => {});
    renderFields(data, call);
    expect(screen.getByTestId("token-withdrawal").textContent).toBe("none");
    fireEvent.click(button("Call with token"));
    expect(call).toHaveBeenCalledTimes(1);
    const [payment, symbol] = call.mock.calls[0] as unknown as [TokenPayer, string];
    expect([payment.channel, payment.price, payment.domain, symbol]).toEqual([
      { caller: ALICE, agentId: 7n, nodeId: 3, token: TOKEN },
      2n * TOKENS,
      { name: "TokenCallEscrow", version: "1", chainId: 31337n, verifyingContract: ESCROW },
      "AGT",
    ]);
  });

  it("offers no token call while the form is not ready or the agent has no token price this epoch", () => {
    renderFields(
      { ...data, price: 0n },
      vi.fn(async () => {}),
    );
    expect(button("Call with token").disabled).toBe(true);
    expect(screen.getByTestId("token-price").textContent).toBe("none");
    expect(screen.getByTestId("token-call-note").textContent).toBe(
      "The agent has no price in AGT in epoch 9: pay in USDC, or wait for the epoch its token price starts.",
    );
    cleanup();
    renderFields(data);
    expect(button("Call with token").disabled).toBe(true);
  });
});
