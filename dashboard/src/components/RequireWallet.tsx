import type { ReactNode } from "react";
import type { JsonRpcSigner } from "ethers";
import { useWallet } from "../wallet/WalletContext";
import { networkName } from "../wallet/networks";

/**
 * Shows `children` with the signer once a wallet is connected on the right chain; otherwise says
 * what is missing and offers the network switch.
 */
export function RequireWallet({ children, action }: { action: string; children: (signer: JsonRpcSigner, account: string) => ReactNode }) {
  const { account, chainId, expectedChainId, signer, switchNetwork } = useWallet();
  if (!account) return <p className="hint">Connect a wallet to {action}.</p>;
  if (chainId !== expectedChainId)
    return (
      <p className="hint">
        Your wallet is on {networkName(chainId ?? 0)}.{" "}
        <button type="button" onClick={switchNetwork}>
          Switch to {networkName(expectedChainId)}
        </button>
      </p>
    );
  if (!signer) return <p aria-busy="true">Connecting…</p>;
  return <>{children(signer, account)}</>;
}
