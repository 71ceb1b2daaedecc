import { useCallback, useEffect, useId, useRef, useState } from "react";
import { useWallet } from "./WalletContext";
import { networkName } from "./networks";
import { shortAddress } from "../lib/format";

/** Header control: pick a discovered wallet, show the account, or prompt a network switch. */
export function WalletButton() {
  const { wallets, account, chainId, expectedChainId, connect, disconnect, switchNetwork, error } = useWallet();
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const trigger = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  /** Closes the menu; `refocus` returns focus to the button (Escape, toggling), not when a click went elsewhere. */
  const close = useCallback((refocus: boolean) => {
    setOpen(false);
    if (refocus) trigger.current?.focus();
  }, []);

  // While open: focus moves into the menu, Escape and a click or focus outside close it.
  useEffect(() => {
    if (!open) return;
    const first = menu.current?.querySelector<HTMLElement>("button") ?? menu.current;
    first?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && close(true);
    const onOutside = (e: Event) => {
      const target = e.target as Node;
      if (!menu.current?.contains(target) && !trigger.current?.contains(target)) close(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onOutside);
    document.addEventListener("focusin", onOutside);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onOutside);
      document.removeEventListener("focusin", onOutside);
    };
  }, [open, close]);

  if (account) {
    return (
      <div className="wallet">
        {chainId !== expectedChainId ? (
          <button type="button" className="warn" onClick={switchNetwork}>
            Switch to {networkName(expectedChainId)}
          </button>
        ) : (
          <span className="chain">{networkName(chainId)}</span>
        )}
        <span className="account" title={account} data-testid="account">
          {shortAddress(account)}
        </span>
        <button type="button" onClick={disconnect}>
          Disconnect
        </button>
        {error && (
          <span role="alert" className="error">
            {error}
          </span>
        )}
      </div>
    );
  }
  return (
    <div className="wallet">
      <button ref={trigger} type="button" aria-expanded={open} aria-haspopup="true" aria-controls={menuId} onClick={() => (open ? close(true) : setOpen(true))}>
        Connect wallet
      </button>
      {open && (
        <ul ref={menu} id={menuId} className="menu" aria-label="Wallets found in this browser" tabIndex={-1}>
          {wallets.length === 0 && <li>No wallet found. Install a browser wallet (EIP-6963) and reload.</li>}
          {wallets.map((w) => (
            <li key={w.info.uuid}>
              <button
                type="button"
                onClick={() => {
                  setOpen(false);
                  void connect(w);
                }}
              >
                {w.info.icon && <img src={w.info.icon} alt="" width={20} height={20} />} {w.info.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </div>
  );
}
