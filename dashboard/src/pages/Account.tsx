import { useMemo, useState } from "react";
import { isAddress, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useInputTransaction, useTransaction } from "../lib/useTransaction";
import { connectSuite, type Suite } from "../lib/contracts";
import { useSuite } from "../lib/useChain";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TxStatus } from "../components/TxStatus";
import { AmountField, readAmount } from "../components/AmountField";
import { RequireWallet } from "../components/RequireWallet";
import { formatDateTime, formatToken, shortAddress } from "../lib/format";
import { GENESIS_ALLOCATIONS } from "../lib/schedule";

/** Lido-style account page: balances, vesting, staking, delegation and service credits. */
export default function Account() {
  return (
    <>
      <h1>Account</h1>
      <RequireWallet action="see your balances, stake and vote">{(signer, account) => <AccountView signer={signer} account={account} />}</RequireWallet>
    </>
  );
}

/** Everything the page shows about one account, read in one batch. */
async function readAccount(suite: Suite, account: string) {
  const { flk, staking, vesting, credits } = suite;
  const [balance, staked, earned, votes, delegatee, withdrawable, unbonding, scheduleIds, thresholds, rate] = await Promise.all([
    flk.balanceOf(account),
    staking.stakeOf(account),
    staking.earned(account),
    staking.getVotes(account),
    staking.delegates(account),
    staking.withdrawable(account),
    staking.unbondingRequests(account),
    vesting.scheduleIdsOf(account),
    credits.tierThresholds(),
    credits.creditsPerFlkMonth(),
  ]);
  const [tier, schedules] = await Promise.all([
    credits.tierOf(staked),
    Promise.all(scheduleIds.map(async (id) => ({ id, schedule: await vesting.schedule(id), releasable: await vesting.releasable(id) }))),
  ]);
  return { balance, staked, earned, votes, delegatee, withdrawable, unbonding: unbonding.requests, schedules, tier, thresholds, rate };
}

type AccountData = Awaited<ReturnType<typeof readAccount>>;

function AccountView({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const suite = useSuite();
  const { deployment, version, refresh } = useApp();
  const state = useAsync(() => readAccount(suite, account), [suite, account, version]);
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
          <DelegateSection writer={writer} account={account} onDone={refresh} />
          <CreditsSection data={a} account={account} />
        </>
      )}
    </Loaded>
  );
}

function VestingSection({ data, writer, onDone }: { data: AccountData; writer: Suite; onDone: () => void }) {
  const tx = useTransaction(onDone);
  if (data.schedules.length === 0) return null;
  return (
    <section aria-labelledby="vest-h">
      <h2 id="vest-h">Vesting</h2>
      <Table columns={["Allocation", "Amount", "Released", "Releasable now", { ariaLabel: "Actions" }]} rows={data.schedules}>
        {({ id, schedule, releasable }) => (
          <tr key={id.toString()}>
            <th scope="row">{GENESIS_ALLOCATIONS[Number(schedule.allocation)]?.name ?? `Allocation ${schedule.allocation}`}</th>
            <td>{formatToken(schedule.amount)}</td>
            <td>{formatToken(schedule.released)}</td>
            <td>{formatToken(releasable)}</td>
            <td>
              <button type="button" disabled={tx.busy || releasable === 0n} onClick={() => tx.run((send) => send("Release", () => writer.vesting.release(id)))}>
                Release
              </button>
            </td>
          </tr>
        )}
      </Table>
      <TxStatus state={tx.state} />
    </section>
  );
}

function StakeSection({ data, writer, account, onDone }: { data: AccountData; writer: Suite; account: string; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const amount = readAmount(text).value;
  const valid = amount !== undefined && amount > 0n;

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
      <form className="card" onSubmit={(e) => e.preventDefault()}>
        <AmountField label="Amount" value={text} onChange={setText} max={data.balance} />
        <div className="actions">
          <button type="submit" disabled={tx.busy || !valid} onClick={stake}>
            Stake
          </button>
          <button type="button" disabled={tx.busy || !valid} onClick={() => tx.run((send) => send("Unstake", () => writer.staking.unstake(amount!)))}>
            Unstake
          </button>
        </div>
      </form>
      {data.unbonding.length > 0 && (
        <ul aria-label="Unbonding requests">
          {data.unbonding.map((r, i) => (
            <li key={i}>
              {formatToken(r.amount)} withdrawable from {formatDateTime(r.releaseTime)}
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        <button type="button" disabled={tx.busy || data.withdrawable === 0n} onClick={() => tx.run((send) => send("Withdraw", () => writer.staking.withdraw()))}>
          Withdraw {formatToken(data.withdrawable)}
        </button>
        <button type="button" disabled={tx.busy || data.earned === 0n} onClick={() => tx.run((send) => send("Claim rewards", () => writer.staking.claim()))}>
          Claim rewards
        </button>
        <button type="button" disabled={tx.busy || data.earned === 0n} onClick={() => tx.run((send) => send("Compound rewards", () => writer.staking.compound()))}>
          Compound rewards
        </button>
      </div>
      <TxStatus state={tx.state} />
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
  const app = useApp();
  const months = useAsync(() => app.data.creditMonths(account), [app.data, app.version, account]);
  const perMonth = (data.staked * data.rate) / 10n ** 18n;
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
          <Table columns={["Month (UTC)", "Credits", "Average stake", "Tier"]} rows={list} empty="No credits yet: staking earns them from the month of your first stake.">
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
