import { useCallback, useContext, useState } from "react";
import { AppContext } from "../AppContext";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import { describeError } from "./revert";

/** Where a transaction (or a short sequence, like approve then stake) stands. */
export type TxState =
  | { status: "idle" }
  | { status: "wallet"; step: string }
  | { status: "pending"; step: string; hash: string }
  | { status: "confirmed"; step: string; hash: string; block: number }
  | { status: "failed"; step: string; reason: string };

/** Sends one transaction of a sequence and waits for it to be mined; its receipt carries the events a later step may need. */
export type SendStep = (step: string, send: () => Promise<ContractTransactionResponse>) => Promise<ContractTransactionReceipt>;

/**
 * Runs transactions and exposes their state for {@link TxStatus}. `onConfirmed` runs after the
 * whole sequence is mined (pages reload their reads there). `run`'s `token` is the symbol of the
 * ERC-20 the sequence moves, so a balance error names it (FLK unless said).
 */
export function useTransaction(onConfirmed?: () => void) {
  const [state, setState] = useState<TxState>({ status: "idle" });
  const app = useContext(AppContext);

  const run = useCallback(
    async (sequence: (send: SendStep) => Promise<unknown>, token = "FLK"): Promise<boolean> => {
      let current = "";
      let last: TxState = { status: "idle" };
      const send: SendStep = async (step, sendTx) => {
        current = step;
        setState({ status: "wallet", step });
        const tx = await sendTx();
        setState({ status: "pending", step, hash: tx.hash });
        const receipt = await tx.wait();
        // ethers throws on a reverted receipt; a null receipt means the tx was replaced.
        if (!receipt) throw new Error("The transaction was replaced or dropped.");
        last = { status: "confirmed", step, hash: tx.hash, block: receipt.blockNumber };
        app?.sawBlock(receipt.blockNumber);
        return receipt;
      };
      try {
        await sequence(send);
        setState(last);
        onConfirmed?.();
        return true;
      } catch (err) {
        setState({ status: "failed", step: current, reason: describeError(err, token) });
        return false;
      }
    },
    [onConfirmed, app],
  );

  return { state, run, busy: state.status === "wallet" || state.status === "pending" };
}

/**
 * A form's amount (or other single) text input with its transaction: the input empties once the
 * transaction is confirmed, before `onConfirmed` runs, and keeps what was typed when it fails.
 */
export function useInputTransaction(onConfirmed: () => void) {
  const [text, setText] = useState("");
  const tx = useTransaction(() => {
    setText("");
    onConfirmed();
  });
  return { text, setText, tx };
}
