import { useMemo, useState } from "react";
import { isAddress, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useInputTransaction, useTransaction } from "../lib/useTransaction";
import { connectSuite } from "../lib/contracts";
import { useReadProvider } from "../lib/useChain";
import { parseDeadlineMinutes, parseSlippage } from "../lib/trade";
import { useCreatorActivity, useCreatorCurve, useCreatorFees, useCreatorHolding, useCreatorTokens, useTradeQuote } from "../hooks/useCreatorMarket";
import { useWallet } from "../wallet/WalletContext";
import { TextField } from "../components/TextField";
import { spotPrice } from "../../../protocol/creatorMarket";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TxStatus } from "../components/TxStatus";
import { AmountField, readAmount } from "../components/AmountField";
import { RequireWallet } from "../components/RequireWallet";
import { LineChart } from "../components/LineChart";
import { ApprovalSteps } from "../components/ApprovalSteps";
import { useAllowance } from "../hooks/useAllowance";
import { formatAmount, formatCompact, formatDateTime, formatToken, shortAddress } from "../lib/format";
import type { CreatorTokenInfo } from "../data/source";

const WEI = 10n ** 18n;

/** Creator tokens, Uniswap-style: the list, one token's curve, a quoted trade and fee claims. */
export default function Creators() {
  const tokens = useCreatorTokens();
  const { account } = useWallet();
  const [creator, setCreator] = useState("");
  const own = account && tokens.data?.some((t) => t.creator.toLowerCase() === account.toLowerCase());
  return (
    <>
      <h1>Creator tokens</h1>
      <Loaded state={tokens} what="creator tokens">
        {(list) => <TokenList tokens={list} selected={creator} onSelect={setCreator} />}
      </Loaded>
      <section aria-labelledby="trade-h">
        <h2 id="trade-h">Trade</h2>
        {account && (
          <div className="actions">
            <button type="button" onClick={() => setCreator(account)} data-testid="your-token">
              {own ? "Your token" : "Launch your token"}
            </button>
          </div>
        )}
        <div className="field">
          <label htmlFor="creator">Creator address (buying the first token of a creator launches it)</label>
          <input
            id="creator"
            placeholder="0x…"
            value={creator}
            onChange={(e) => setCreator(e.target.value.trim())}
            aria-invalid={creator !== "" && !isAddress(creator)}
          />
        </div>
        {isAddress(creator) ? <CreatorPanel creator={creator} /> : <p className="hint">Pick a token above or enter a creator's address.</p>}
      </section>
      <RequireWallet action="claim your creator fees">{(signer, account) => <CreatorFees signer={signer} account={account} />}</RequireWallet>
    </>
  );
}

function TokenList({ tokens, selected, onSelect }: { tokens: CreatorTokenInfo[]; selected: string; onSelect: (creator: string) => void }) {
  return (
    <Table
      label="Creator tokens table"
      columns={["Creator", "Token", "Price", "Market cap", "Volume", "Holders", "Reserve", { ariaLabel: "Actions" }]}
      rows={tokens}
      empty="No creator tokens yet. Enter your address below and buy the first token to launch yours."
    >
      {(t) => (
        <tr key={t.token} data-testid="creator-row">
          <th scope="row" title={t.creator}>
            {shortAddress(t.creator)}
          </th>
          <td title={t.token}>{t.symbol}</td>
          <td>{formatToken(t.spotPrice)}</td>
          <td data-testid="market-cap">{formatToken((t.spotPrice * t.supply) / WEI, "FLK", 18, 2)}</td>
          <td data-testid="volume">{formatToken(t.volume, "FLK", 18, 2)}</td>
          <td data-testid="holders">{t.holders}</td>
          <td>{formatToken(t.reserve)}</td>
          <td>
            <button type="button" aria-pressed={selected.toLowerCase() === t.creator.toLowerCase()} onClick={() => onSelect(t.creator)}>
              Trade
            </button>
          </td>
        </tr>
      )}
    </Table>
  );
}

/** The token's price after each trade over time, its latest trades and its largest holders (indexer). */
function TokenActivity({ creator }: { creator: string }) {
  const activity = useCreatorActivity(creator);
  return (
    <Loaded state={activity} what="the token's trades and holders">
      {({ trades, holders }) => (
        <>
          <h3>Price over time</h3>
          {trades.length === 0 ? (
            <p className="empty">No trades yet.</p>
          ) : (
            <LineChart
              label="Price of one token after each trade over time"
              series={[{ name: "Price (FLK per token)", color: "#8b5cf6", points: [...trades].reverse().map((t) => [t.time, Number(t.priceAfter) / 1e18]) }]}
              formatX={(x) => new Date(x * 1000).toISOString().slice(5, 16).replace("T", " ")}
              formatY={(y) => y.toFixed(4)}
              xName="Time (UTC)"
              formatRowX={(x) => formatDateTime(x)}
            />
          )}
          <h3>Latest trades</h3>
          <Table label="Latest trades table" columns={["Time (UTC)", "Trader", "Side", "Tokens", "FLK"]} rows={trades} empty="No trades yet.">
            {(t) => (
              <tr key={`${t.txHash}-${t.trader}-${t.amount}`} data-testid="trade-row">
                <td>{formatDateTime(t.time)}</td>
                <td title={t.trader}>{shortAddress(t.trader)}</td>
                <td>{t.side}</td>
                <td>{formatAmount(t.amount)}</td>
                <td>{formatToken(t.flk)}</td>
              </tr>
            )}
          </Table>
          <h3>Holders</h3>
          <Table label="Holders table" columns={["Holder", "Balance"]} rows={holders} empty="Nobody holds this token.">
            {(h) => (
              <tr key={h.address} data-testid="holder-row">
                <th scope="row" title={h.address}>
                  {shortAddress(h.address)}
                </th>
                <td>{formatAmount(h.balance)}</td>
              </tr>
            )}
          </Table>
        </>
      )}
    </Loaded>
  );
}

function CreatorPanel({ creator }: { creator: string }) {
  const curve = useCreatorCurve(creator);
  return (
    <Loaded state={curve} what="the curve">
      {(c) => (
        <>
          <dl className="stats">
            <Stat label="Supply" value={formatAmount(c.supply)} testId="curve-supply" />
            <Stat label="Price" value={formatToken(c.price)} testId="spot-price" />
            <Stat label="Reserve" value={formatToken(c.reserve)} />
          </dl>
          <PriceCurve supply={c.supply} />
          {c.supply > 0n && <TokenActivity creator={creator} />}
          <RequireWallet action="buy and sell">
            {(signer, account) => <TradeForm signer={signer} account={account} creator={creator} token={c.token} supply={c.supply} />}
          </RequireWallet>
        </>
      )}
    </Loaded>
  );
}

/** The linear bonding curve from zero to twice the current supply, with the current point marked. */
function PriceCurve({ supply }: { supply: bigint }) {
  const end = supply * 2n > 100n * WEI ? supply * 2n : 100n * WEI;
  const points: [number, number][] = [];
  for (let i = 0n; i <= 40n; i++) {
    const s = (end * i) / 40n;
    points.push([Number(s / WEI), Number(spotPrice(s)) / 1e18]);
  }
  return (
    <LineChart
      label="Price of one token against supply on the bonding curve; the dot is the current supply"
      series={[{ name: "Price (FLK per token)", color: "#8b5cf6", points }]}
      formatX={(x) => formatCompact(BigInt(Math.round(x)) * WEI)}
      formatY={(y) => y.toFixed(3)}
      marker={{ x: Number(supply / WEI), y: Number(spotPrice(supply)) / 1e18, label: "now" }}
    />
  );
}

function TradeForm({ signer, account, creator, token, supply }: { signer: JsonRpcSigner; account: string; creator: string; token: string; supply: bigint }) {
  const provider = useReadProvider();
  const { deployment, refresh } = useApp();
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  const [side, setSide] = useState<"buy" | "sell">("buy");
  const { text, setText, tx } = useInputTransaction(refresh);
  const [slippageText, setSlippageText] = useState("1");
  const [deadlineText, setDeadlineText] = useState("20");
  const slippage = parseSlippage(slippageText);
  const deadlineSeconds = parseDeadlineMinutes(deadlineText);
  const held = useCreatorHolding(token, account, supply);
  const symbol = held.data?.symbol ?? "tokens";
  // Selling is bounded by what the account holds, not by the curve's supply.
  const overHeld = (value: bigint) =>
    side === "sell" && held.data && value > held.data.balance ? `You hold ${formatAmount(held.data.balance)} ${symbol}.` : undefined;
  const parsed = readAmount(text).value;
  const amount = parsed !== undefined && !overHeld(parsed) ? parsed : undefined;
  const quote = useTradeQuote(side, creator, amount, supply);
  const allowance = useAllowance("flk", account, "market");
  // Buys cap what is paid, sells floor what is received, both by the slippage tolerance.
  const bps = slippage.value;
  const limit =
    quote.data === undefined || bps === undefined
      ? undefined
      : side === "buy"
        ? (quote.data * (10_000n + bps)) / 10_000n
        : (quote.data * (10_000n - bps)) / 10_000n;

  const trade = () =>
    tx.run(
      async (send) => {
        // The deadline counts from the chain's clock, which on a devnet may run ahead of the wall clock.
        const now = BigInt((await provider.getBlock("latest"))!.timestamp);
        const deadline = now + deadlineSeconds.value!;
        if (side === "buy") {
          const market = await writer.market.getAddress();
          if ((await writer.flk.allowance(account, market)) < limit!) await send("Approve FLK", () => writer.flk.approve(market, limit!));
          await send("Buy", () => writer.market.buy(creator, amount!, limit!, deadline));
        } else {
          await send("Sell", () => writer.market.sell(creator, amount!, limit!, deadline));
        }
      },
      side === "buy" ? "FLK" : symbol,
    );

  return (
    <form className="card" onSubmit={(e) => e.preventDefault()}>
      <div role="radiogroup" aria-label="Side" className="actions">
        {(["buy", "sell"] as const).map((s) => (
          <label key={s} className="radio">
            <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} /> {s === "buy" ? "Buy" : "Sell"}
          </label>
        ))}
      </div>
      <p>
        You hold <span data-testid="creator-balance">{held.data === undefined ? "…" : formatAmount(held.data.balance)}</span>{" "}
        {symbol === "tokens" ? "of this token" : symbol}.
      </p>
      <AmountField label="Tokens" value={text} onChange={setText} symbol={symbol} max={side === "sell" ? held.data?.balance : undefined} check={overHeld} />
      <div className="field-row">
        <TextField
          label="Slippage tolerance (%)"
          inputMode="decimal"
          value={slippageText}
          onChange={setSlippageText}
          error={slippage.error}
          testId="slippage"
        />
        <TextField
          label="Deadline (minutes)"
          inputMode="numeric"
          value={deadlineText}
          onChange={setDeadlineText}
          error={deadlineSeconds.error}
          testId="deadline"
        />
      </div>
      <p aria-live="polite" data-testid="quote">
        {quote.error
          ? quote.error
          : quote.data === undefined
            ? "Enter an amount for a quote."
            : limit === undefined
              ? "Fix the slippage tolerance for a limit."
              : side === "buy"
                ? `Costs ${formatToken(quote.data)} with fees; at most ${formatToken(limit)} with slippage.`
                : `Returns ${formatToken(quote.data)} after fees; at least ${formatToken(limit)} with slippage.`}
      </p>
      {side === "buy" && (
        // The approval is for the most the buy may cost (the slippage limit), so the buy cannot fall short of it.
        <ApprovalSteps
          approve="Approve FLK"
          action="Buy"
          amount={limit}
          allowance={allowance.data}
          state={tx.state}
          approveText={`Approve up to ${formatToken(limit ?? 0n)} for the creator market`}
          actionText={`Buy ${formatAmount(amount ?? 0n)} ${symbol}`}
        />
      )}
      <button type="submit" disabled={tx.busy || amount === undefined || limit === undefined || deadlineSeconds.value === undefined} onClick={trade}>
        {side === "buy" ? "Buy" : "Sell"}
      </button>
      <TxStatus state={tx.state} />
    </form>
  );
}

function CreatorFees({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const fees = useCreatorFees(account);
  const tx = useTransaction(refresh);
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  return (
    <section aria-labelledby="fees-h">
      <h2 id="fees-h">Your creator fees</h2>
      <Loaded state={fees} what="your creator fees">
        {(f) => (
          <p>
            Unclaimed: <span data-testid="creator-fees">{formatToken(f)}</span>{" "}
            <button
              type="button"
              disabled={tx.busy || f === 0n}
              onClick={() => tx.run((send) => send("Claim creator fees", () => writer.market.claimCreatorFees()))}
            >
              Claim
            </button>
          </p>
        )}
      </Loaded>
      <TxStatus state={tx.state} />
    </section>
  );
}
