import { useMemo, useState } from "react";
import { isAddress, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useInputTransaction, useTransaction } from "../lib/useTransaction";
import { connectSuite, type Suite } from "../lib/contracts";
import { useAccountData, useCreditMonths, useRewardPayments, useRewardRate, type AccountData } from "../hooks/useAccount";
import { CopyButton } from "../components/CopyButton";
import { ApprovalSteps } from "../components/ApprovalSteps";
import { useAllowance } from "../hooks/useAllowance";
import { useChainClock } from "../hooks/useChainClock";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TxStatus } from "../components/TxStatus";
import { AmountField, readAmount } from "../components/AmountField";
import { RequireWallet } from "../components/RequireWallet";
import { formatBps, formatDate, formatDateTime, formatDuration, formatToken, shortAddress } from "../lib/format";
import { GENESIS_ALLOCATIONS } from "../lib/schedule";
import { monthlyCredits } from "../../../protocol/credits";
import { EscrowSection } from "./EscrowSection";

/** Lido-style account page: balances, vesting, staking, delegation, service credits and the service escrow. */
export default function Account() {
  return (
    <>
      <h1>Account</h1>
      <RequireWallet action="see your balances, stake and vote">{(signer, account) => <AccountView signer={signer} account={account} />}</RequireWallet>
    </>
  );
}

function AccountView({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const state = useAccountData(account);
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  return (
    <Loaded state={state} what="your account">
      {(a) => (
        <>
          <section aria-labelledby="bal-h">
            <h2 id="bal-h">Balances</h2>
            <dl className="stats">
              <Stat label="Wallet" value={formatToken(a.balance)} testId="balance" />
              <Stat label="Staked" value={formatToken(a.staked)} testId="staked-balance" />
              <Stat label="Rewards earned" value={formatToken(a.earned)} testId="earned" />
              <Stat label="Withdrawable" value={formatToken(a.withdrawable)} />
              <Stat label="Voting power" value={formatToken(a.votes)} testId="votes" />
              <Stat label="Delegate" value={a.delegatee.toLowerCase() === account.toLowerCase() ? "yourself" : shortAddress(a.delegatee)} />
            </dl>
          </section>
          <VestingSection data={a} writer={writer} onDone={refresh} />
          <StakeSection data={a} writer={writer} account={account} onDone={refresh} />
          <RewardsSection data={a} account={account} />
          <DelegateSection writer={writer} account={account} onDone={refresh} />
          <CreditsSection data={a} account={account} />
          <EscrowSection writer={writer} account={account} onDone={refresh} />
        </>
      )}
    </Loaded>
  );
}

/**
 * When a schedule next unlocks: the cliff while it is ahead (the TGE share is unlocked at once),
 * then continuously (linear vesting) until its end.
 */
function nextUnlock(a: { cliff: bigint; duration: bigint }, tge: bigint, now: bigint): string {
  if (now >= tge + a.duration) return "fully vested";
  if (a.cliff > 0n && now < tge + a.cliff) return `cliff on ${formatDate(tge + a.cliff)}`;
  return `continuously until ${formatDate(tge + a.duration)}`;
}

function VestingSection({ data, writer, onDone }: { data: AccountData; writer: Suite; onDone: () => void }) {
  const tx = useTransaction(onDone);
  const now = useChainClock(data.chainNow);
  if (data.schedules.length === 0) return null;
  return (
    <section aria-labelledby="vest-h">
      <h2 id="vest-h">Vesting</h2>
      <Table
        label="Vesting schedules table"
        columns={["Allocation", "Amount", "Vested", "Next unlock", "Released", "Releasable now", { ariaLabel: "Actions" }]}
        rows={data.schedules}
      >
        {({ id, schedule, releasable }) => {
          const allocation = GENESIS_ALLOCATIONS[Number(schedule.allocation)];
          const vested = schedule.released + releasable;
          const percent = schedule.amount === 0n ? 100 : Number((vested * 1000n) / schedule.amount) / 10;
          return (
            <tr key={id.toString()} data-testid="vesting-row">
              <th scope="row">{allocation?.name ?? `Allocation ${schedule.allocation}`}</th>
              <td>{formatToken(schedule.amount)}</td>
              <td>
                <progress max={1000} value={Math.round(percent * 10)} aria-label={`${percent}% vested`} /> {percent}%
              </td>
              <td>{allocation ? nextUnlock(allocation, data.tge, now) : "—"}</td>
              <td>{formatToken(schedule.released)}</td>
              <td>{formatToken(releasable)}</td>
              <td>
                <button
                  type="button"
                  disabled={tx.busy || releasable === 0n}
                  onClick={() => tx.run((send) => send("Release", () => writer.vesting.release(id)))}
                >
                  Release {formatToken(releasable)}
                </button>
              </td>
            </tr>
          );
        }}
      </Table>
      <TxStatus state={tx.state} />
    </section>
  );
}

function StakeSection({ data, writer, account, onDone }: { data: AccountData; writer: Suite; account: string; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const amount = readAmount(text).value;
  const overBalance = (value: bigint) => (value > data.balance ? `Your wallet holds ${formatToken(data.balance)}.` : undefined);
  const valid = amount !== undefined && amount > 0n && !overBalance(amount);
  const allowance = useAllowance("flk", account, "staking");

  const stake = () =>
    tx.run(async (send) => {
      const spender = await writer.staking.getAddress();
      // Approve only what is missing: an exact allowance, never an unlimited one.
      if ((await writer.flk.allowance(account, spender)) < amount!) await send("Approve FLK", () => writer.flk.approve(spender, amount!));
      await send("Stake", () => writer.staking.stake(amount!));
    });

  return (
    <section aria-labelledby="stake-h">
      <h2 id="stake-h">Stake</h2>
      <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Stake FLK">
        <AmountField label="Amount to stake" value={text} onChange={setText} max={data.balance} check={overBalance} />
        <p className="hint">Staked FLK earns the stakers' half of emission and carries your votes. Approving FLK comes first when the allowance falls short.</p>
        <ApprovalSteps
          approve="Approve FLK"
          action="Stake"
          amount={valid ? amount : undefined}
          allowance={allowance.data}
          state={tx.state}
          approveText={`Approve ${formatToken(amount ?? 0n)} for the staking contract`}
          actionText={`Stake ${formatToken(amount ?? 0n)}`}
        />
        <div className="actions">
          <button type="submit" disabled={tx.busy || !valid} onClick={stake}>
            Stake
          </button>
        </div>
        <TxStatus state={tx.state} />
      </form>
      <UnstakeForm data={data} writer={writer} onDone={onDone} />
      {data.unbonding.length > 0 && (
        <ul aria-label="Unbonding requests">
          {data.unbonding.map((r, i) => (
            <li key={i}>
              {formatToken(r.amount)} withdrawable from {formatDateTime(r.releaseTime)}
            </li>
          ))}
        </ul>
      )}
      <RewardActions data={data} writer={writer} onDone={onDone} />
    </section>
  );
}

/** Unstaking, with its own Max (the stake) and the unbonding time said before sending. */
function UnstakeForm({ data, writer, onDone }: { data: AccountData; writer: Suite; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const now = useChainClock(data.chainNow);
  const amount = readAmount(text).value;
  const overStake = (value: bigint) => (value > data.staked ? `You have ${formatToken(data.staked)} staked.` : undefined);
  const valid = amount !== undefined && amount > 0n && !overStake(amount);
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Unstake FLK">
      <AmountField label="Amount to unstake" value={text} onChange={setText} max={data.staked} check={overStake} />
      <p className="hint" data-testid="unbonding-note">
        Unstaked FLK stops earning at once and is withdrawable after the unbonding period of {formatDuration(data.unbondingPeriod)}
        {valid ? `, from about ${formatDateTime(now + data.unbondingPeriod)}` : ""}.
      </p>
      <div className="actions">
        <button type="submit" disabled={tx.busy || !valid} onClick={() => tx.run((send) => send("Unstake", () => writer.staking.unstake(amount!)))}>
          Unstake
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Withdraw, claim and compound, each button saying the amount it moves. */
function RewardActions({ data, writer, onDone }: { data: AccountData; writer: Suite; onDone: () => void }) {
  const tx = useTransaction(onDone);
  return (
    <>
      <div className="actions">
        <button
          type="button"
          disabled={tx.busy || data.withdrawable === 0n}
          onClick={() => tx.run((send) => send("Withdraw", () => writer.staking.withdraw()))}
        >
          Withdraw {formatToken(data.withdrawable)}
        </button>
        <button type="button" disabled={tx.busy || data.earned === 0n} onClick={() => tx.run((send) => send("Claim rewards", () => writer.staking.claim()))}>
          Claim {formatToken(data.earned)}
        </button>
        <button
          type="button"
          disabled={tx.busy || data.earned === 0n}
          onClick={() => tx.run((send) => send("Compound rewards", () => writer.staking.compound()))}
        >
          Compound {formatToken(data.earned)}
        </button>
      </div>
      <TxStatus state={tx.state} />
    </>
  );
}

/** How many reward payments the history lists. */
const HISTORY_SIZE = 20;

/** Lido's reward rate and reward history: the rate from the formulas and the chain, the history from the indexer. */
function RewardsSection({ data, account }: { data: AccountData; account: string }) {
  const rate = useRewardRate();
  const history = useRewardPayments(account, HISTORY_SIZE);
  return (
    <section aria-labelledby="rewards-h">
      <h2 id="rewards-h">Staking rewards</h2>
      <Loaded state={rate} what="the reward rate">
        {(r) => (
          <>
            <dl className="stats">
              <Stat label="Reward rate" value={r.rateBps === undefined ? "nothing staked yet" : `${formatBps(r.rateBps)} a year`} testId="reward-rate" />
              <Stat
                label="Your rewards a year at this rate"
                value={formatToken(r.rateBps === undefined ? 0n : (data.staked * r.rateBps) / 10_000n, "FLK", 18, 2)}
                testId="yearly-rewards"
              />
              <Stat label="Earned, not yet claimed" value={formatToken(data.earned)} />
            </dl>
            <p className="hint">
              The stakers' half of the next 365 days' emission over all {formatToken(r.totalStaked, "FLK", 18, 0)} staked: more stake lowers the rate, and
              emission falls each year.
            </p>
          </>
        )}
      </Loaded>
      <h3>Reward history</h3>
      <Loaded state={history} what="your reward history">
        {(list) => (
          <Table
            label="Reward history table"
            columns={["Time (UTC)", "Paid", "Amount", "Transaction"]}
            rows={list}
            empty="No rewards claimed or compounded yet."
            testId="reward-history"
          >
            {(p) => (
              <tr key={p.txHash} data-testid="reward-payment">
                <td>{formatDateTime(p.time)}</td>
                <td>{p.kind === "claimed" ? "Claimed to the wallet" : "Compounded into the stake"}</td>
                <td>{formatToken(p.amount)}</td>
                <td>
                  {shortAddress(p.txHash)} <CopyButton value={p.txHash} label="Copy transaction hash" />
                </td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </section>
  );
}

function DelegateSection({ writer, account, onDone }: { writer: Suite; account: string; onDone: () => void }) {
  const [to, setTo] = useState("");
  const tx = useTransaction(onDone);
  const valid = isAddress(to);
  return (
    <section aria-labelledby="deleg-h">
      <h2 id="deleg-h">Delegation</h2>
      <form className="card" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="delegatee">Delegate your votes to</label>
          <input id="delegatee" placeholder="0x…" value={to} onChange={(e) => setTo(e.target.value.trim())} aria-invalid={to !== "" && !valid} />
          {to !== "" && !valid && <small className="error">Not an address.</small>}
        </div>
        <div className="actions">
          <button type="submit" disabled={tx.busy || !valid} onClick={() => tx.run((send) => send("Delegate", () => writer.staking.delegate(to)))}>
            Delegate
          </button>
          <button type="button" disabled={tx.busy} onClick={() => tx.run((send) => send("Delegate to yourself", () => writer.staking.delegate(account)))}>
            Delegate to yourself
          </button>
        </div>
      </form>
      <TxStatus state={tx.state} />
    </section>
  );
}

function CreditsSection({ data, account }: { data: AccountData; account: string }) {
  const months = useCreditMonths(account);
  const perMonth = monthlyCredits(data.staked, data.rate);
  const next = data.thresholds[Number(data.tier)];
  return (
    <section aria-labelledby="credits-h">
      <h2 id="credits-h">Service credits</h2>
      <dl className="stats">
        <Stat label="Tier" value={`${data.tier} of ${data.thresholds.length}`} testId="tier" />
        <Stat label="Credits per month at your stake" value={formatToken(perMonth, "credits", 18, 2)} />
        <Stat label="Next tier at" value={next === undefined ? "top tier reached" : formatToken(next, "FLK", 18, 0)} />
      </dl>
      <h3>Per month</h3>
      <Loaded state={months} what="your service credits per month">
        {(list) => (
          <Table
            columns={["Month (UTC)", "Credits", "Average stake", "Tier"]}
            rows={list}
            empty="No credits yet: staking earns them from the month of your first stake."
          >
            {(m) => (
              <tr key={m.month} data-testid="credit-month">
                <th scope="row">
                  {m.month}
                  {m.complete ? "" : " (so far)"}
                </th>
                <td>{formatToken(m.credits, "credits", 18, 2)}</td>
                <td>{formatToken(m.averageStake, "FLK", 18, 2)}</td>
                <td>{m.tier}</td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </section>
  );
}
