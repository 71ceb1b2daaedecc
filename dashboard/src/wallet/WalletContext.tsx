/**
 * The connected wallet: which EIP-6963 wallet, which account, which chain, and a signer for
 * transactions. Reads never go through the wallet (the indexer and a read-only provider serve them), so pages work
 * without one.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { JsonRpcSigner } from "ethers";
import { discoverWallets, type DiscoveredWallet } from "./eip6963";
import { NETWORKS } from "./networks";
import { describeError } from "../lib/revert";

/** What pages need from the wallet. */
export interface WalletState {
  wallets: DiscoveredWallet[];
  wallet?: DiscoveredWallet;
  account?: string;
  chainId?: number;
  /** The chain the dashboard's deployment lives on. */
  expectedChainId: number;
  signer?: JsonRpcSigner;
  error?: string;
  connect(wallet: DiscoveredWallet): Promise<void>;
  disconnect(): void;
  switchNetwork(): Promise<void>;
}

/** localStorage key of the last connected wallet's rdns, to reconnect silently after a reload. */
const LAST_WALLET = "fleek.dashboard.wallet";

const WalletContext = createContext<WalletState | undefined>(undefined);

/** The wallet state; only inside {@link WalletProvider}. */
export function useWallet(): WalletState {
  const state = useContext(WalletContext);
  if (!state) throw new Error("useWallet outside WalletProvider");
  return state;
}

/** Discovers wallets and tracks the connected one's account and chain. */
export function WalletProvider({ expectedChainId, children }: { expectedChainId: number; children: ReactNode }) {
  const [wallets, setWallets] = useState<DiscoveredWallet[]>([]);
  const [wallet, setWallet] = useState<DiscoveredWallet>();
  const [account, setAccount] = useState<string>();
  const [chainId, setChainId] = useState<number>();
  const [error, setError] = useState<string>();

  useEffect(() => discoverWallets(setWallets), []);

  // Follow account and chain changes the user makes in the wallet itself.
  useEffect(() => {
    const provider = wallet?.provider;
    if (!provider?.on) return;
    const onAccounts = (accounts: string[]) => setAccount(accounts[0]);
    const onChain = (id: string) => setChainId(Number(id));
    provider.on("accountsChanged", onAccounts);
    provider.on("chainChanged", onChain);
    return () => {
      provider.removeListener?.("accountsChanged", onAccounts);
      provider.removeListener?.("chainChanged", onChain);
    };
  }, [wallet]);

  /** Connects `chosen`; `silent` uses eth_accounts, which never opens a wallet prompt. */
  const attach = useCallback(async (chosen: DiscoveredWallet, silent: boolean) => {
    setError(undefined);
    try {
      const accounts = (await chosen.provider.request({ method: silent ? "eth_accounts" : "eth_requestAccounts" })) as string[];
      if (accounts.length === 0) return;
      const id = (await chosen.provider.request({ method: "eth_chainId" })) as string;
      setWallet(chosen);
      setAccount(accounts[0]);
      setChainId(Number(id));
      localStorage.setItem(LAST_WALLET, chosen.info.rdns);
    } catch (err) {
      if (!silent) setError(describeError(err));
    }
  }, []);

  const connect = useCallback((chosen: DiscoveredWallet) => attach(chosen, false), [attach]);

  // Reconnect the last wallet after a reload if it still authorises this site, like wallets' own dapp sessions.
  useEffect(() => {
    if (wallet) return;
    const last = wallets.find((w) => w.info.rdns === localStorage.getItem(LAST_WALLET));
    if (last) void attach(last, true);
  }, [wallets, wallet, attach]);

  const disconnect = useCallback(() => {
    localStorage.removeItem(LAST_WALLET);
    setWallet(undefined);
    setAccount(undefined);
    setChainId(undefined);
  }, []);

  const switchNetwork = useCallback(async () => {
    if (!wallet) return;
    setError(undefined);
    const hexId = `0x${expectedChainId.toString(16)}`;
    try {
      await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hexId }] });
    } catch (err) {
      // 4902: the wallet does not know the chain yet, so offer to add it.
      const network = NETWORKS[expectedChainId];
      if ((err as { code?: number }).code === 4902 && network) {
        try {
          await wallet.provider.request({
            method: "wallet_addEthereumChain",
            params: [{ chainId: hexId, chainName: network.name, rpcUrls: [network.rpcUrl], nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
          });
        } catch (addErr) {
          setError(describeError(addErr));
          return;
        }
      } else {
        setError(describeError(err));
        return;
      }
    }
    setChainId(Number(await wallet.provider.request({ method: "eth_chainId" })));
  }, [wallet, expectedChainId]);

  const [signer, setSigner] = useState<JsonRpcSigner>();
  useEffect(() => {
    setSigner(undefined);
    if (!wallet || !account || chainId !== expectedChainId) return;
    let live = true;
    // ethers loads with the first signer, not with the first page.
    import("ethers")
      .then(({ BrowserProvider }) => new BrowserProvider(wallet.provider as never, chainId).getSigner(account))
      .then(
        (s) => live && setSigner(s),
        (err) => live && setError(describeError(err)),
      );
    return () => {
      live = false;
    };
  }, [wallet, account, chainId, expectedChainId]);

  const value = useMemo<WalletState>(
    () => ({ wallets, wallet, account, chainId, expectedChainId, signer, error, connect, disconnect, switchNetwork }),
    [wallets, wallet, account, chainId, expectedChainId, signer, error, connect, disconnect, switchNetwork],
  );
  return <WalletContext.Provider value={value}>{children}</WalletContext.Provider>;
}
