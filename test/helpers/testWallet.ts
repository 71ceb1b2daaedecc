/**
 * A browser wallet for the dashboard's end-to-end tests: an EIP-1193 provider announced through
 * EIP-6963 ("Hardhat test wallet") whose requests the test process answers: the accounts and the
 * chain from the test, transactions signed with the test's key, everything else forwarded to the
 * chain's JSON-RPC untouched (errors included, as a real wallet passes them on).
 */
import { getBytes, type Wallet } from "ethers";
import type { BrowserContext } from "playwright-core";

/** The in-page half: requests go to the exposed `__testWallet` function. */
const WALLET_SCRIPT = `(() => {
  const listeners = {};
  const provider = {
    async request({ method, params }) {
      const { result, error } = JSON.parse(await window.__testWallet(JSON.stringify({ method, params: params ?? [] })));
      if (error) throw Object.assign(new Error(error.message), error);
      return result;
    },
    on(event, fn) { (listeners[event] ??= []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); },
  };
  const info = { uuid: "6a4c1d1e-0000-4000-8000-000000000001", name: "Hardhat test wallet", icon: "", rdns: "org.hardhat.test-wallet" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

/** Raw JSON-RPC to `rpcUrl`: the response as it came, errors included. */
export async function rawRpc(
  rpcUrl: string,
  method: string,
  params: unknown[],
): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

/** What a test does as the wallet's user. */
export interface TestWalletUser {
  /**
   * The user rejects the next transaction the page asks to send whose calldata starts with
   * `selector` (any, if undefined): EIP-1193 error 4001, as a wallet answers.
   */
  rejectNextTransaction(selector?: string): void;
}

/**
 * Puts the test wallet into every page of `context`: it holds `wallet` (connected to the chain's
 * provider) on chain `chainId` at `rpcUrl`. Set E2E_DEBUG to log refused transactions and RPC errors.
 */
export async function installTestWallet(context: BrowserContext, wallet: Wallet, chainId: number, rpcUrl: string): Promise<TestWalletUser> {
  let reject: { selector: string } | undefined;
  const answer = async (json: string): Promise<string> => {
    const { method, params } = JSON.parse(json) as { method: string; params: unknown[] };
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return JSON.stringify({ result: [wallet.address] });
      case "eth_chainId":
        return JSON.stringify({ result: `0x${chainId.toString(16)}` });
      case "wallet_switchEthereumChain":
        return JSON.stringify({ result: null });
      case "personal_sign": {
        // EIP-191 over the message's bytes (hex, as ethers' JsonRpcSigner sends it), by this account only.
        const [message, address] = params as [string, string];
        if (address.toLowerCase() !== wallet.address.toLowerCase()) return JSON.stringify({ error: { code: 4100, message: "unknown account" } });
        return JSON.stringify({ result: await wallet.signMessage(getBytes(message)) });
      }
      case "eth_sendTransaction": {
        const tx = params[0] as { to?: string; data?: string; value?: string; gas?: string };
        if (reject && (tx.data ?? "0x").toLowerCase().startsWith(reject.selector)) {
          reject = undefined;
          return JSON.stringify({ error: { code: 4001, message: "User rejected the request." } });
        }
        try {
          const sent = await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value ?? 0n, gasLimit: tx.gas });
          return JSON.stringify({ result: sent.hash });
        } catch (err) {
          const e = err as { shortMessage?: string; message: string; data?: string };
          if (process.env.E2E_DEBUG) console.log("SEND", JSON.stringify(tx), e.message);
          return JSON.stringify({ error: { code: 3, message: e.shortMessage ?? e.message, data: e.data } });
        }
      }
      default: {
        const r = await rawRpc(rpcUrl, method, params);
        if (r.error && process.env.E2E_DEBUG) console.log("RPC", method, JSON.stringify(params), JSON.stringify(r.error));
        return JSON.stringify(r);
      }
    }
  };
  await context.exposeFunction("__testWallet", answer);
  await context.addInitScript(WALLET_SCRIPT);
  return { rejectNextTransaction: (selector = "0x") => void (reject = { selector: selector.toLowerCase() }) };
}
