import { useEffect } from "react";
import { useApp } from "../AppContext";
import { Loaded, StaleBanner } from "../components/Status";
import { useAllocations, useBurns, useTgeAndChainTime, useHolders, useSupply, useSupplyHistory, useTokenStats, useTransfers } from "../hooks/useSupply";
import { Tabs } from "../components/Tabs";
import { CopyButton } from "../components/CopyButton";
import type { Deployment } from "../lib/contracts";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { LineChart } from "../components/LineChart";
import { formatBps, formatCompact, formatDate, formatDateTime, formatShare, formatToken, shortAddress } from "../lib/format";
import { GENESIS_ALLOCATIONS, emissionSchedule, supplyProjection, unlockCalendar, type AllocationShape } from "../lib/schedule";
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
  const { refresh } = useApp();
  const supply = useSupply();
  useEffect(() => {
    // The first-page budget (interactive < 2 s) is measured against this mark by the e2e test.
    if (supply.data && performance.getEntriesByName(FIRST_PAGE_MARK).length === 0) performance.mark(FIRST_PAGE_MARK);
  }, [supply.data]);
  // Without the indexer the formulas still give the schedule: from the chain's TGE and clock.
  const indexerDown = supply.data === undefined && supply.error !== undefined;
  return (
    <>
      <h1>FLK overview</h1>
      {indexerDown ? (
        <>
          <StaleBanner
            what="the supply"
            reason={supply.error!}
            fallback="Below: the schedule from the genesis formulas the contracts implement, without measured figures."
            onRetry={refresh}
          />
          <FormulaOnly />
        </>
      ) : (
        <Loaded state={supply} what="the supply">
          {(s) => (
            <>
              <SupplySection supply={s} />
              <HoldersAndTransfers total={s.total} />
              <UnlockCalendar tge={s.tge} />
              <EmissionSchedule supply={s} />
            </>
          )}
        </Loaded>
      )}
    </>
  );
}

/** The projection, unlock calendar and emission schedule from the formulas alone (the indexer is down). */
function FormulaOnly() {
  const clock = useTgeAndChainTime(true);
  return (
    <Loaded state={clock} what="the chain's clock">
      {(c) =>
        c && (
          <>
            <section aria-labelledby="projection-h">
              <h2 id="projection-h">Projected schedule</h2>
              <ProjectedSchedule tge={c.tge} />
            </section>
            <UnlockTable tge={c.tge} allocations={GENESIS_ALLOCATIONS} />
            <section aria-labelledby="emission-h">
              <h2 id="emission-h">Emission</h2>
              <EmissionTable tge={c.tge} now={c.now} />
            </section>
          </>
        )
      }
    </Loaded>
  );
}

function SupplySection({ supply: s }: { supply: SupplyBreakdown }) {
  const { deployment } = useApp();
  const stats = useTokenStats();
  return (
    <section aria-labelledby="supply-h">
      <h2 id="supply-h">Supply</h2>
      <p className="contract">
        FLK contract <code data-testid="flk-address">{deployment.contracts.flk}</code>{" "}
        <CopyButton value={deployment.contracts.flk} label="Copy the FLK contract address" />
      </p>
      <dl className="stats">
        <Stat label="Holders" value={stats.data ? stats.data.holders.toLocaleString("en-US") : stats.error ? "—" : "…"} testId="holders" />
        <Stat label="Transfers" value={stats.data ? stats.data.transfers.toLocaleString("en-US") : stats.error ? "—" : "…"} testId="transfers" />
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
      <ProjectedSchedule tge={s.tge} marker={{ x: Number(s.now), y: toFlk(s.total - s.vesting + s.mintable), label: "now" }} />
    </section>
  );
}

/** Unlocked genesis supply and cumulative emission over five years, from the genesis formulas. */
function ProjectedSchedule({ tge, marker }: { tge: bigint; marker?: { x: number; y: number; label: string } }) {
  const projection = supplyProjection(tge);
  return (
    <>
      <LineChart
        label="Unlocked genesis supply and cumulative emission over five years from the TGE"
        series={[
          { name: "Unlocked genesis supply", color: "#3b82f6", points: projection.map((p) => [Number(p.time), toFlk(p.unlocked)]) },
          { name: "Unlocked plus emitted", color: "#10b981", points: projection.map((p) => [Number(p.time), toFlk(p.unlocked + p.emitted)]) },
        ]}
        formatX={year}
        formatY={(y) => formatCompact(BigInt(Math.round(y)) * WEI_PER_FLK)}
        marker={marker}
        xName="Date"
        formatRowX={formatDate}
      />
      <p className="hint">Projected from the genesis formulas (protocol/genesis.ts) that the contracts implement.</p>
    </>
  );
}

/** The supply as the indexer measured it, sampled from the TGE to the latest indexed block. */
function SupplyHistory({ from, to }: { from: bigint; to: bigint }) {
  const history = useSupplyHistory(from, to, HISTORY_POINTS);
  return (
    <Loaded state={history} what="the supply history">
      {(samples) => (
        <LineChart
          label="Circulating, staked, vesting and burned FLK, stacked, measured from the TGE to the latest indexed block"
          stacked
          series={[
            // Bottom to top; together they are every FLK ever minted (total supply plus burned).
            { name: "Circulating and reserves", color: "#3b82f6", points: samples.map((p) => [Number(p.time), toFlk(p.total - p.vesting - p.staked)]) },
            { name: "Staked", color: "#10b981", points: samples.map((p) => [Number(p.time), toFlk(p.staked)]) },
            { name: "Locked in vesting", color: "#f59e0b", points: samples.map((p) => [Number(p.time), toFlk(p.vesting)]) },
            { name: "Burned", color: "#ef4444", points: samples.map((p) => [Number(p.time), toFlk(p.burned)]) },
          ]}
          formatX={timeAxis(Number(to - from))}
          formatY={(y) => formatCompact(BigInt(Math.round(y)) * WEI_PER_FLK)}
          xName="Time (UTC)"
          formatRowX={(x) => formatDateTime(x)}
        />
      )}
    </Loaded>
  );
}

/** How many holders and transfers each tab lists. */
const LIST_SIZE = 25;

/** The suite's contracts by name, so the holders list says "Staking" rather than an address. */
const CONTRACT_NAMES: Partial<Record<keyof Deployment["contracts"], string>> = {
  vesting: "Vesting",
  staking: "Staking",
  timelock: "Treasury (timelock)",
  creatorMarket: "Creator market",
  registry: "Node registry",
  rewards: "Epoch rewards",
  buyback: "Buyback",
  escrow: "Service escrow",
  emission: "Emission",
};

/** An address in words: a suite contract by name, the zero address as a mint or burn, else shortened. */
function useAddressName(): (address: string) => string {
  const { deployment } = useApp();
  const names = new Map(Object.entries(CONTRACT_NAMES).map(([key, name]) => [deployment.contracts[key as keyof Deployment["contracts"]].toLowerCase(), name]));
  return (address) => names.get(address.toLowerCase()) ?? (/^0x0{40}$/.test(address) ? "0x0 (mint or burn)" : shortAddress(address));
}

/** Etherscan's holders and transfers tabs: the largest holders with their share of the supply, and the latest transfers. */
function HoldersAndTransfers({ total }: { total: bigint }) {
  const stats = useTokenStats();
  const count = (n: number | undefined) => (n === undefined ? "" : ` (${n.toLocaleString("en-US")})`);
  return (
    <section aria-labelledby="activity-h">
      <h2 id="activity-h">Holders and transfers</h2>
      <Tabs
        label="Holders and transfers"
        tabs={[
          { label: `Holders${count(stats.data?.holders)}`, panel: () => <HoldersTable total={total} /> },
          { label: `Transfers${count(stats.data?.transfers)}`, panel: () => <TransfersTable /> },
        ]}
      />
    </section>
  );
}

function HoldersTable({ total }: { total: bigint }) {
  const holders = useHolders(LIST_SIZE);
  const name = useAddressName();
  return (
    <Loaded state={holders} what="the holders">
      {(list) => (
        <Table
          label="Largest holders table"
          columns={["Rank", "Holder", "Balance", "Share of supply"]}
          rows={list}
          empty="Nobody holds FLK yet."
          testId="holders-table"
        >
          {(h) => (
            <tr key={h.address} data-testid="holder-row">
              <td>{list.indexOf(h) + 1}</td>
              <th scope="row" title={h.address}>
                {name(h.address)}
              </th>
              <td>{formatToken(h.balance, "FLK", 18, 2)}</td>
              <td>{formatShare(h.balance, total)}</td>
            </tr>
          )}
        </Table>
      )}
    </Loaded>
  );
}

function TransfersTable() {
  const transfers = useTransfers(LIST_SIZE);
  const name = useAddressName();
  return (
    <Loaded state={transfers} what="the transfers">
      {(list) => (
        <Table
          label="Latest transfers table"
          columns={["Time (UTC)", "Block", "From", "To", "Amount"]}
          rows={list}
          empty="No transfers yet."
          testId="transfers-table"
        >
          {(t) => (
            <tr key={`${t.txHash}-${t.from}-${t.to}-${t.amount}`} data-testid="transfer-row">
              <td>{formatDateTime(t.time)}</td>
              <td>{t.block}</td>
              <td title={t.from}>{name(t.from)}</td>
              <td title={t.to}>{name(t.to)}</td>
              <td>{formatToken(t.amount, "FLK", 18, 2)}</td>
            </tr>
          )}
        </Table>
      )}
    </Loaded>
  );
}

/** Every allocation's unlocks, from the allocations the indexer read from the Vesting contract. */
function UnlockCalendar({ tge }: { tge: bigint }) {
  const allocations = useAllocations();
  return (
    <Loaded state={allocations} what="the vesting allocations">
      {(list) => <UnlockTable tge={tge} allocations={list} />}
    </Loaded>
  );
}

/** The unlock calendar of `allocations` (the indexer's, or the genesis constants when it is down). */
function UnlockTable({ tge, allocations }: { tge: bigint; allocations: readonly AllocationShape[] }) {
  return (
    <section aria-labelledby="unlock-h">
      <h2 id="unlock-h">Unlock calendar</h2>
      <p>Token generation event (TGE): {formatDate(tge)}. Months are twelfths of a 365-day year.</p>
      <Table
        label="Unlock calendar table"
        columns={["Allocation", "Total", "At TGE", "Cliff", "Then per month", "Fully unlocked"]}
        rows={unlockCalendar(tge, allocations)}
        testId="unlock-calendar"
      >
        {(row) => (
          <tr key={row.allocation.key} data-testid="unlock-row">
            <th scope="row">{row.allocation.name}</th>
            <td>{formatToken(row.allocation.total, "FLK", 18, 0)}</td>
            <td>
              {formatToken(row.atTge, "FLK", 18, 0)}
              <br />({formatBps(row.allocation.tgeBps)})
            </td>
            <td>
              {row.allocation.cliff > 0n ? (
                <>
                  {formatDate(row.cliffAt)}
                  <br />
                  {formatToken(row.atCliff, "FLK", 18, 0)}
                </>
              ) : (
                "none"
              )}
            </td>
            <td>{row.monthly > 0n ? formatToken(row.monthly, "FLK", 18, 0) : "—"}</td>
            <td>{formatDate(row.endAt)}</td>
          </tr>
        )}
      </Table>
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
  const burns = useBurns(10);
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
      <EmissionTable tge={s.tge} now={s.now} />
      <p>
        Minted so far: {formatToken(s.emitted)}. Burned so far (creator-token fees and buybacks): {formatToken(s.burned)}.
      </p>
      <BurnList />
    </section>
  );
}

/** Emission per year from the formulas, the running year marked. */
function EmissionTable({ tge, now }: { tge: bigint; now: bigint }) {
  return (
    <Table label="Emission per year table" columns={["Year", "From", "To", "Emitted", "Cumulative"]} rows={emissionSchedule(tge)}>
      {(y) => (
        <tr key={y.year} aria-current={now >= y.from && now < y.to ? "true" : undefined}>
          <th scope="row">{y.year}</th>
          <td>{formatDate(y.from)}</td>
          <td>{formatDate(y.to)}</td>
          <td>{formatToken(y.amount, "FLK", 18, 0)}</td>
          <td>{formatToken(y.cumulative, "FLK", 18, 0)}</td>
        </tr>
      )}
    </Table>
  );
}
