import { useMemo, useState } from "react";
import { isAddress, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useInputTransaction, useTransaction } from "../lib/useTransaction";
import { connectSuite, creatorToken } from "../lib/contracts";
import { useSuite, useReadProvider } from "../lib/useChain";
import { spotPrice } from "../../../ignition/creator";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TxStatus } from "../components/TxStatus";
import { AmountField, readAmount } from "../components/AmountField";
import { RequireWallet } from "../components/RequireWallet";
import { LineChart } from "../components/LineChart";
import { formatAmount, formatCompact, formatToken, shortAddress } from "../lib/format";
import type { CreatorTokenInfo } from "../data/source";

const WEI = 10n ** 18n;

/** Creator tokens, Uniswap-style: the list, one token's curve, a quoted trade and fee claims. */
export default function Creators() {
  const { data, version } = useApp();
  const tokens = useAsync(() => data.creatorTokens(), [data, version]);
  const [creator, setCreator] = useState("");
  return (
    <>
      <h1>Creator tokens</h1>
      <Loaded state={tokens} what="creator tokens">
        {(list) => <TokenList tokens={list} selected={creator} onSelect={setCreator} />}
      </Loaded>
      <section aria-labelledby="trade-h">
        <h2 id="trade-h">Trade</h2>
        <div className="field">
          <label htmlFor="creator">Creator address (buying the first token of a creator launches it)</label>
          <input id="creator" placeholder="0x…" value={creator} onChange={(e) => setCreator(e.target.value.trim())} aria-invalid={creator !== "" && !isAddress(creator)} />
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
      columns={["Creator", "Supply", "Price", "Reserve", { ariaLabel: "Actions" }]}
      rows={tokens}
      empty="No creator tokens yet. Enter your address below and buy the first token to launch yours."
    >
      {(t) => (
        <tr key={t.token} data-testid="creator-row">
          <th scope="row" title={t.creator}>
            {shortAddress(t.creator)}
          </th>
          <td>{formatAmount(t.supply)}</td>
          <td>{formatToken(t.spotPrice)}</td>
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

function CreatorPanel({ creator }: { creator: string }) {
  const suite = useSuite();
  const { version } = useApp();
  const curve = useAsync(async () => {
    const [supply, price, reserve, token] = await Promise.all([suite.market.supplyOf(creator), suite.market.spotPrice(creator), suite.market.reserveOf(creator), suite.market.tokenOf(creator)]);
    return { supply, price, reserve, token };
  }, [suite, creator, version]);
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
          <RequireWallet action="buy and sell">{(signer, account) => <TradeForm signer={signer} account={account} creator={creator} token={c.token} supply={c.supply} />}</RequireWallet>
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
  const suite = useSuite();
  const provider = useReadProvider();
  const { deployment, version, refresh } = useApp();
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  const [side, setSide] = useState<"buy" | "sell">("buy");
  const { text, setText, tx } = useInputTransaction(refresh);
  const [slippage, setSlippage] = useState("1");
  const [deadlineMinutes, setDeadlineMinutes] = useState("20");
  const amount = readAmount(text).value;
  const slippageBps = BigInt(Math.round(Number(slippage) * 100));
  const settingsValid = Number(slippage) >= 0 && Number(slippage) <= 50 && Number(deadlineMinutes) > 0;

  const held = useAsync(() => (supply === 0n ? Promise.resolve(0n) : creatorToken(token, provider).balanceOf(account)), [token, account, supply, version]);
  const quote = useAsync(async () => {
    if (!amount) return undefined;
    if (side === "buy") return (await suite.market.buyCost(creator, amount)).total;
    return (await suite.market.sellReturn(creator, amount)).proceeds;
  }, [side, creator, amount, supply, version]);
  // Buys cap what is paid, sells floor what is received, both by the slippage tolerance.
  const limit = quote.data === undefined ? undefined : side === "buy" ? (quote.data * (10_000n + slippageBps)) / 10_000n : (quote.data * (10_000n - slippageBps)) / 10_000n;

  const trade = () =>
    tx.run(async (send) => {
      // The deadline counts from the chain's clock, which on a devnet may run ahead of the wall clock.
      const now = BigInt((await provider.getBlock("latest"))!.timestamp);
      const deadline = now + BigInt(Math.round(Number(deadlineMinutes) * 60));
      if (side === "buy") {
        const market = await writer.market.getAddress();
        if ((await writer.flk.allowance(account, market)) < limit!) await send("Approve FLK", () => writer.flk.approve(market, limit!));
        await send("Buy", () => writer.market.buy(creator, amount!, limit!, deadline));
      } else {
        await send("Sell", () => writer.market.sell(creator, amount!, limit!, deadline));
      }
    });

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
        You hold <span data-testid="creator-balance">{held.data === undefined ? "…" : formatAmount(held.data)}</span> of this token.
      </p>
      <AmountField label="Tokens" value={text} onChange={setText} symbol="tokens" max={side === "sell" ? held.data : undefined} />
      <div className="field-row">
        <div className="field">
          <label htmlFor="slippage">Slippage tolerance (%)</label>
          <input id="slippage" inputMode="decimal" value={slippage} onChange={(e) => setSlippage(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="deadline">Deadline (minutes)</label>
          <input id="deadline" inputMode="numeric" value={deadlineMinutes} onChange={(e) => setDeadlineMinutes(e.target.value)} />
        </div>
      </div>
      <p aria-live="polite" data-testid="quote">
        {quote.error
          ? quote.error
          : quote.data === undefined || limit === undefined
            ? "Enter an amount for a quote."
            : side === "buy"
              ? `Costs ${formatToken(quote.data)} with fees; at most ${formatToken(limit)} with slippage.`
              : `Returns ${formatToken(quote.data)} after fees; at least ${formatToken(limit)} with slippage.`}
      </p>
      <button type="submit" disabled={tx.busy || limit === undefined || !settingsValid} onClick={trade}>
        {side === "buy" ? "Buy" : "Sell"}
      </button>
      <TxStatus state={tx.state} />
    </form>
  );
}

function CreatorFees({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const suite = useSuite();
  const { deployment, version, refresh } = useApp();
  const fees = useAsync(() => suite.market.creatorFeesOf(account), [suite, account, version]);
  const tx = useTransaction(refresh);
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  return (
    <section aria-labelledby="fees-h">
      <h2 id="fees-h">Your creator fees</h2>
      <Loaded state={fees} what="your creator fees">
        {(f) => (
          <p>
            Unclaimed: <span data-testid="creator-fees">{formatToken(f)}</span>{" "}
            <button type="button" disabled={tx.busy || f === 0n} onClick={() => tx.run((send) => send("Claim creator fees", () => writer.market.claimCreatorFees()))}>
              Claim
            </button>
          </p>
        )}
      </Loaded>
      <TxStatus state={tx.state} />
    </section>
  );
}
