import { useState } from "react";
import { useWallet } from "./WalletContext";
import { networkName } from "./networks";
import { shortAddress } from "../lib/format";

/** Header control: pick a discovered wallet, show the account, or prompt a network switch. */
export function WalletButton() {
  const { wallets, account, chainId, expectedChainId, connect, disconnect, switchNetwork, error } = useWallet();
  const [open, setOpen] = useState(false);

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
        {error && <span role="alert" className="error">{error}</span>}
      </div>
    );
  }
  return (
    <div className="wallet">
      <button type="button" aria-expanded={open} aria-haspopup="true" onClick={() => setOpen(!open)}>
        Connect wallet
      </button>
      {open && (
        <ul className="menu" aria-label="Wallets found in this browser" onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
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
      {error && <span role="alert" className="error">{error}</span>}
    </div>
  );
}
