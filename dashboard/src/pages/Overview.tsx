import { useEffect } from "react";
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { LineChart } from "../components/LineChart";
import { formatBps, formatCompact, formatDate, formatToken, shortAddress } from "../lib/format";
import { emissionSchedule, supplyProjection, unlockCalendar } from "../lib/schedule";
import type { Burn, SupplyBreakdown } from "../data/source";

/** Performance mark set once the first page shows chain data and its controls respond. */
export const FIRST_PAGE_MARK = "fleek:first-page-interactive";
const WEI_PER_FLK = 10n ** 18n;
const toFlk = (wei: bigint) => Number(wei / WEI_PER_FLK);
const year = (seconds: number) => new Date(seconds * 1000).getUTCFullYear().toString();
/** Axis labels for a span of `seconds`: times within two days, dates within two years, else years. */
function timeAxis(seconds: number): (x: number) => string {
  if (seconds <= 2 * 86_400) return (x) => new Date(x * 1000).toISOString().slice(11, 16);
  if (seconds <= 2 * 365 * 86_400) return (x) => new Date(x * 1000).toISOString().slice(0, 10);
  return year;
}
/** Samples of the measured supply chart. */
const HISTORY_POINTS = 13;

/** Token-page overview, Etherscan style: where the supply is, what unlocks when, what is emitted and burned. */
export function Overview() {
  const { data, version } = useApp();
  const supply = useAsync(() => data.supply(), [data, version]);
  useEffect(() => {
    // The first-page budget (interactive < 2 s) is measured against this mark by the e2e test.
    if (supply.data && performance.getEntriesByName(FIRST_PAGE_MARK).length === 0) performance.mark(FIRST_PAGE_MARK);
  }, [supply.data]);
  return (
    <>
      <h1>FLK overview</h1>
      <Loaded state={supply} what="the supply">
        {(s) => (
          <>
            <SupplySection supply={s} />
            <UnlockCalendar tge={s.tge} />
            <EmissionSchedule supply={s} />
          </>
        )}
      </Loaded>
    </>
  );
}

function SupplySection({ supply: s }: { supply: SupplyBreakdown }) {
  const projection = supplyProjection(s.tge);
  return (
    <section aria-labelledby="supply-h">
      <h2 id="supply-h">Supply</h2>
      <dl className="stats">
        <Stat label="Total supply" value={formatToken(s.total, "FLK", 18, 0)} testId="total-supply" />
        <Stat label="Circulating" value={formatToken(s.circulating, "FLK", 18, 0)} testId="circulating" />
        <Stat label="Locked in vesting" value={formatToken(s.vesting, "FLK", 18, 0)} testId="locked" />
        <Stat label="Staked (with unbonding and rewards)" value={formatToken(s.staked, "FLK", 18, 0)} testId="staked" />
        <Stat label="Reserves (treasury and creator curves)" value={formatToken(s.reserves, "FLK", 18, 0)} />
        <Stat label="Burned" value={formatToken(s.burned, "FLK", 18, 6)} testId="burned" />
        <Stat label="Emitted" value={formatToken(s.emitted, "FLK", 18, 0)} />
        <Stat label="Emission due, not yet minted" value={formatToken(s.mintable, "FLK", 18, 0)} />
      </dl>
      <h3>Supply since the TGE</h3>
      <SupplyHistory from={s.tge} to={s.now} />
      <h3>Projected schedule</h3>
      <LineChart
        label="Unlocked genesis supply and cumulative emission over five years from the TGE"
        series={[
          { name: "Unlocked genesis supply", color: "#3b82f6", points: projection.map((p) => [Number(p.time), toFlk(p.unlocked)]) },
          { name: "Unlocked plus emitted", color: "#10b981", points: projection.map((p) => [Number(p.time), toFlk(p.unlocked + p.emitted)]) },
        ]}
        formatX={year}
        formatY={(y) => formatCompact(BigInt(Math.round(y)) * WEI_PER_FLK)}
        marker={{ x: Number(s.now), y: toFlk(s.total - s.vesting + s.mintable), label: "now" }}
      />
      <p className="hint">Projected from the genesis formulas (ignition/genesis.ts) that the contracts implement.</p>
    </section>
  );
}

/** The supply as the indexer measured it, sampled from the TGE to the latest indexed block. */
function SupplyHistory({ from, to }: { from: bigint; to: bigint }) {
  const { data, version } = useApp();
  const history = useAsync(() => data.supplyHistory(from, to, HISTORY_POINTS), [data, version, from, to]);
  return (
    <Loaded state={history} what="the supply history">
      {(samples) => (
        <LineChart
          label="Total, vesting, staked and burned FLK measured from the TGE to the latest indexed block"
          series={[
            { name: "Total supply", color: "#3b82f6", points: samples.map((p) => [Number(p.time), toFlk(p.total)]) },
            { name: "Locked in vesting", color: "#f59e0b", points: samples.map((p) => [Number(p.time), toFlk(p.vesting)]) },
            { name: "Staked", color: "#10b981", points: samples.map((p) => [Number(p.time), toFlk(p.staked)]) },
            { name: "Burned", color: "#ef4444", points: samples.map((p) => [Number(p.time), toFlk(p.burned)]) },
          ]}
          formatX={timeAxis(Number(to - from))}
          formatY={(y) => formatCompact(BigInt(Math.round(y)) * WEI_PER_FLK)}
        />
      )}
    </Loaded>
  );
}

/** Every allocation's unlocks, from the allocations the indexer read from the Vesting contract. */
function UnlockCalendar({ tge }: { tge: bigint }) {
  const { data, version } = useApp();
  const allocations = useAsync(() => data.allocations(), [data, version]);
  return (
    <section aria-labelledby="unlock-h">
      <h2 id="unlock-h">Unlock calendar</h2>
      <p>Token generation event (TGE): {formatDate(tge)}. Months are twelfths of a 365-day year.</p>
      <Loaded state={allocations} what="the vesting allocations">
        {(list) => (
          <Table columns={["Allocation", "Total", "At TGE", "Cliff", "Then per month", "Fully unlocked"]} rows={unlockCalendar(tge, list)}>
            {(row) => (
              <tr key={row.allocation.key} data-testid="unlock-row">
                <th scope="row">{row.allocation.name}</th>
                <td>{formatToken(row.allocation.total, "FLK", 18, 0)}</td>
                <td>
                  {formatToken(row.atTge, "FLK", 18, 0)} ({formatBps(row.allocation.tgeBps)})
                </td>
                <td>{row.allocation.cliff > 0n ? `${formatDate(row.cliffAt)}: ${formatToken(row.atCliff, "FLK", 18, 0)}` : "none"}</td>
                <td>{row.monthly > 0n ? formatToken(row.monthly, "FLK", 18, 0) : "—"}</td>
                <td>{formatDate(row.endAt)}</td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </section>
  );
}

/** What burned, in words: the suite's burners by name, a holder by address. */
function burnerName(b: Burn): string {
  if (b.source === "CREATOR_MARKET") return "Creator market (trading fee)";
  if (b.source === "BUYBACK") return `Buyback auction (buyer ${shortAddress(b.from)})`;
  return shortAddress(b.from);
}

/** The latest burns; loads after the supply so it stays off the first page's critical path. */
function BurnList() {
  const { data, version } = useApp();
  const burns = useAsync(() => data.burns(10), [data, version]);
  return (
    <>
      <h3>Latest burns</h3>
      <Loaded state={burns} what="burns">
        {(list) => (
          <Table columns={["Block", "Burned by", "Amount"]} rows={list} empty="Nothing burned yet.">
            {(b) => (
              <tr key={`${b.txHash}-${b.from}-${b.amount}`} data-testid="burn-row">
                <td>{b.block}</td>
                <td>{burnerName(b)}</td>
                <td>{formatToken(b.amount, "FLK", 18, 6)}</td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </>
  );
}

function EmissionSchedule({ supply: s }: { supply: SupplyBreakdown }) {
  return (
    <section aria-labelledby="emission-h">
      <h2 id="emission-h">Emission and burns</h2>
      <Table columns={["Year", "From", "To", "Emitted", "Cumulative"]} rows={emissionSchedule(s.tge)}>
        {(y) => (
          <tr key={y.year} aria-current={s.now >= y.from && s.now < y.to ? "true" : undefined}>
            <th scope="row">{y.year}</th>
            <td>{formatDate(y.from)}</td>
            <td>{formatDate(y.to)}</td>
            <td>{formatToken(y.amount, "FLK", 18, 0)}</td>
            <td>{formatToken(y.cumulative, "FLK", 18, 0)}</td>
          </tr>
        )}
      </Table>
      <p>
        Minted so far: {formatToken(s.emitted)}. Burned so far (creator-token fees and buybacks): {formatToken(s.burned)}.
      </p>
      <BurnList />
    </section>
  );
}
