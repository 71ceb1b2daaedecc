import type { Eip1193Provider, WalletInfo } from "../src/wallet/eip6963";

/** A scripted EIP-1193 wallet that records requests and announces itself the EIP-6963 way. */
export function fakeWallet(name: string, options: { chainId: number; account: string; rejectSwitch?: number }) {
  const calls: { method: string; params?: unknown }[] = [];
  let chainId = options.chainId;
  const listeners = new Map<string, (...args: unknown[]) => void>();
  const provider: Eip1193Provider = {
    async request({ method, params }) {
      calls.push({ method, params });
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [options.account];
        case "eth_chainId":
          return `0x${chainId.toString(16)}`;
        case "wallet_switchEthereumChain": {
          if (options.rejectSwitch) throw Object.assign(new Error("unknown chain"), { code: options.rejectSwitch });
          chainId = parseInt((params as { chainId: string }[])[0].chainId, 16);
          listeners.get("chainChanged")?.(`0x${chainId.toString(16)}`);
          return null;
        }
        case "wallet_addEthereumChain":
          chainId = parseInt((params as { chainId: string }[])[0].chainId, 16);
          return null;
        default:
          throw new Error(`unexpected ${method}`);
      }
    },
    on: (event, listener) => void listeners.set(event, listener as (...args: unknown[]) => void),
    removeListener: (event) => void listeners.delete(event),
  };
  const info: WalletInfo = { uuid: `uuid-${name}`, name, icon: "", rdns: `test.${name.toLowerCase()}` };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  // Like real wallets: announce on load and again whenever the page asks.
  window.addEventListener("eip6963:requestProvider", announce);
  return { provider, info, calls, announce, remove: () => window.removeEventListener("eip6963:requestProvider", announce) };
}
