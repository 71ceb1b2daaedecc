/**
 * EIP-6963 wallet discovery: every injected wallet announces itself with an event instead of
 * fighting over `window.ethereum`, so users with several wallets can pick one.
 */

/** The minimal EIP-1193 surface the dashboard uses. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: never[]) => void): void;
  removeListener?(event: string, listener: (...args: never[]) => void): void;
}

/** What a wallet announces about itself (EIP-6963 `EIP6963ProviderInfo`). */
export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

/** One discovered wallet. */
export interface DiscoveredWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

interface AnnounceEvent extends Event {
  detail: DiscoveredWallet;
}

/**
 * Listens for wallet announcements and asks wallets to announce. Calls `onChange` with the full
 * list (deduplicated by uuid) after each new wallet; returns the unsubscribe function.
 */
export function discoverWallets(onChange: (wallets: DiscoveredWallet[]) => void, target: Window = window): () => void {
  const byUuid = new Map<string, DiscoveredWallet>();
  const onAnnounce = (event: Event) => {
    const { detail } = event as AnnounceEvent;
    if (!detail?.info?.uuid || typeof detail.provider?.request !== "function") return;
    if (byUuid.has(detail.info.uuid)) return;
    byUuid.set(detail.info.uuid, { info: detail.info, provider: detail.provider });
    onChange([...byUuid.values()]);
  };
  target.addEventListener("eip6963:announceProvider", onAnnounce);
  target.dispatchEvent(new Event("eip6963:requestProvider"));
  return () => target.removeEventListener("eip6963:announceProvider", onAnnounce);
}
