import { useMemo, useState } from "react";
import { id as hashText, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { useChainClock } from "../hooks/useChainClock";
import { useAsync } from "../lib/useAsync";
import { useTransaction } from "../lib/useTransaction";
import { connectSuite, type Suite } from "../lib/contracts";
import { useSuite, useReadProvider } from "../lib/useChain";
import { useWallet } from "../wallet/WalletContext";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TxStatus } from "../components/TxStatus";
import { RequireWallet } from "../components/RequireWallet";
import { formatDateTime, formatDuration, formatShare, formatToken, shortAddress } from "../lib/format";
import { PARAMETER_CHANGES, describeCall, proposalTimeline } from "../lib/proposals";
import { CopyButton } from "../components/CopyButton";
import type { Proposal } from "../data/source";

/** Tally-style governance: settings, proposals with their tally, voting, proposing, queue and execute. */
export default function Governance() {
  const suite = useSuite();
  const provider = useReadProvider();
  const { data, version } = useApp();
  const settings = useAsync(async () => {
    const { governor } = suite;
    const [delay, period, threshold, quorumPercent, block] = await Promise.all([
      governor.votingDelay(),
      governor.votingPeriod(),
      governor.proposalThreshold(),
      governor["quorumNumerator()"](),
      provider.getBlock("latest"),
    ]);
    return { delay, period, threshold, quorumPercent, now: BigInt(block?.timestamp ?? 0) };
  }, [suite, version]);
  const proposals = useAsync(() => data.proposals(), [data, version]);
  return (
    <>
      <h1>Governance</h1>
      <Loaded state={settings} what="governance settings">
        {(s) => (
          <>
            <dl className="stats">
              <Stat label="Voting delay" value={formatDuration(s.delay)} />
              <Stat label="Voting period" value={formatDuration(s.period)} />
              <Stat label="Proposal threshold" value={formatToken(s.threshold, "FLK staked", 18, 0)} />
              <Stat label="Quorum" value={`${s.quorumPercent}% of staked FLK`} />
            </dl>
            <Loaded state={proposals} what="proposals">
              {(list) => <ProposalList proposals={list} now={s.now} />}
            </Loaded>
            <Delegates />
            <NewProposal />
          </>
        )}
      </Loaded>
    </>
  );
}

/** `now` is the chain's clock when the page read it; the cards' countdowns tick from it. */
function ProposalList({ proposals, now }: { proposals: Proposal[]; now: bigint }) {
  if (proposals.length === 0) return <p className="empty">No proposals yet. Stakers with enough voting power can create one below.</p>;
  return (
    <section aria-labelledby="props-h">
      <h2 id="props-h">Proposals</h2>
      <ul className="proposals">
        {proposals.map((p) => (
          <ProposalCard key={p.id.toString()} proposal={p} now={now} />
        ))}
      </ul>
    </section>
  );
}

function ProposalCard({ proposal: p, now }: { proposal: Proposal; now: bigint }) {
  const suite = useSuite();
  const total = p.forVotes + p.againstVotes + p.abstainVotes;
  const quorumVotes = p.forVotes + p.abstainVotes;
  return (
    <li className="card proposal" data-testid="proposal" data-state={p.state}>
      <h3>{p.description.split("\n")[0]}</h3>
      {/* The description's body (after its title line), as the proposer wrote it: plain text, line breaks kept. */}
      {p.description.includes("\n") && (
        <p className="description" data-testid="proposal-body">
          {p.description.slice(p.description.indexOf("\n") + 1).trim()}
        </p>
      )}
      <p>
        <span className={`badge state-${p.state.toLowerCase()}`} data-testid="proposal-state">
          {p.state}
        </span>{" "}
        by {shortAddress(p.proposer)}
      </p>
      <ul>
        {p.targets.map((t, i) => (
          <li key={i}>{describeCall(suite, t, p.calldatas[i])}</li>
        ))}
      </ul>
      <dl className="tally">
        <Stat label="For" value={`${formatToken(p.forVotes, "FLK", 18, 2)} (${formatShare(p.forVotes, total)})`} testId="votes-for" />
        <Stat label="Against" value={`${formatToken(p.againstVotes, "FLK", 18, 2)} (${formatShare(p.againstVotes, total)})`} />
        <Stat label="Abstain" value={`${formatToken(p.abstainVotes, "FLK", 18, 2)} (${formatShare(p.abstainVotes, total)})`} />
        <Stat
          label="Quorum"
          value={
            p.quorum === 0n
              ? "set at the snapshot"
              : `${formatToken(quorumVotes, "FLK", 18, 0)} of ${formatToken(p.quorum, "FLK", 18, 0)}${quorumVotes >= p.quorum ? " (reached)" : ""}`
          }
        />
      </dl>
      <VoteBar proposal={p} />
      <Timeline proposal={p} chainNow={now} />
      <Voters proposal={p} />
      <ProposalActions proposal={p} chainNow={now} />
    </li>
  );
}

/** Created, voting, queued and executed (or how it ended), with times and, ahead, countdowns ticking from the chain's clock. */
export function Timeline({ proposal: p, chainNow }: { proposal: Proposal; chainNow: bigint }) {
  const now = useChainClock(chainNow);
  return (
    <ol className="timeline" aria-label="Timeline" data-testid="timeline">
      {proposalTimeline(p, now).map((step) => (
        <li key={step.label} className={step.done ? "done" : "ahead"} data-testid="timeline-step">
          <strong>{step.label}</strong>{" "}
          {step.time === undefined ? (
            <span className="hint">{step.done ? "" : "after the vote, if it passes"}</span>
          ) : (
            <>
              <time dateTime={new Date(Number(step.time) * 1000).toISOString()}>{formatDateTime(step.time)}</time>
              {!step.done && step.time > now && <span className="hint"> (in {formatDuration(step.time - now)})</span>}
            </>
          )}
          {step.txHash && <CopyButton value={step.txHash} label={`Copy the ${step.label.toLowerCase()} transaction hash`} />}
        </li>
      ))}
    </ol>
  );
}

/** Who voted, heaviest first, with their side, weight, share of the votes cast and reason. */
function Voters({ proposal: p }: { proposal: Proposal }) {
  if (p.voters === 0) return null;
  const cast = p.forVotes + p.againstVotes + p.abstainVotes;
  return (
    <details className="voters" open={p.state === "Active"}>
      <summary>
        {p.voters} voter{p.voters === 1 ? "" : "s"}
        {p.voters > p.votes.length ? ` (the ${p.votes.length} heaviest listed)` : ""}
      </summary>
      <Table label={`Voters on proposal ${shortAddress(p.id.toString())}`} columns={["Voter", "Vote", "Weight", "Share", "Reason"]} rows={p.votes}>
        {(v) => (
          <tr key={v.voter} data-testid="vote">
            <th scope="row" title={v.voter}>
              {shortAddress(v.voter)}
            </th>
            <td>{v.support}</td>
            <td>{formatToken(v.weight, "FLK", 18, 2)}</td>
            <td>{formatShare(v.weight, cast)}</td>
            <td>{v.reason || "—"}</td>
          </tr>
        )}
      </Table>
    </details>
  );
}

/**
 * For, Against and Abstain as one bar, Tally style, with the quorum marked: the bar spans the
 * larger of the votes cast and the quorum, so the marker shows how far the count is from it
 * (For and Abstain count towards the quorum).
 */
function VoteBar({ proposal: p }: { proposal: Proposal }) {
  const cast = p.forVotes + p.againstVotes + p.abstainVotes;
  const scale = cast > p.quorum ? cast : p.quorum;
  if (scale === 0n) return null;
  const width = (v: bigint) => `${Number((v * 10_000n) / scale) / 100}%`;
  const counted = p.forVotes + p.abstainVotes;
  const summary = `For ${formatToken(p.forVotes, "FLK", 18, 0)}, against ${formatToken(p.againstVotes, "FLK", 18, 0)}, abstain ${formatToken(p.abstainVotes, "FLK", 18, 0)}${
    p.quorum > 0n ? `; quorum ${formatToken(p.quorum, "FLK", 18, 0)}, ${counted >= p.quorum ? "reached" : "not reached"}` : ""
  }`;
  return (
    <div className="vote-bar" role="img" aria-label={summary} data-testid="vote-bar">
      <span className="for" style={{ width: width(p.forVotes) }} />
      <span className="against" style={{ width: width(p.againstVotes) }} />
      <span className="abstain" style={{ width: width(p.abstainVotes) }} />
      {p.quorum > 0n && <i className="quorum" style={{ left: width(p.quorum) }} title="Quorum" />}
    </div>
  );
}

/** Whether `account` voted on `p` (the chain's `hasVoted`), how (the indexer's record of its vote), and its voting power at the snapshot. */
function useMyVote(p: Proposal, account: string | undefined, now: bigint) {
  const suite = useSuite();
  const { data, version } = useApp();
  return useAsync(async () => {
    if (!account || p.state === "Pending") return undefined;
    // Past votes only: the snapshot must be before the chain's clock.
    const started = p.voteStart < now;
    const [voted, power, vote] = await Promise.all([
      suite.governor.hasVoted(p.id, account),
      started ? suite.governor.getVotes(account, p.voteStart) : Promise.resolve(undefined),
      data.vote(p.id, account),
    ]);
    return { voted, support: vote?.support, power };
  }, [suite, data, p.id, p.state, account, version]);
}

function ProposalActions({ proposal: p, chainNow }: { proposal: Proposal; chainNow: bigint }) {
  // Ticking, so "Executable in …" counts down and the button enables when the delay has passed.
  const now = useChainClock(chainNow);
  const { signer, account } = useWallet();
  const { deployment, refresh } = useApp();
  const tx = useTransaction(refresh);
  const writer = useMemo(() => (signer ? connectSuite(deployment, signer) : undefined), [deployment, signer]);
  const mine = useMyVote(p, account, now);
  if (!writer) return p.state === "Active" ? <p className="hint">Connect a wallet to vote.</p> : null;
  const descriptionHash = hashText(p.description);
  const args = [p.targets, p.values, p.calldatas, descriptionHash] as const;
  // A vote just confirmed counts before the reads catch up, so the buttons go at once.
  const justVoted = tx.state.status === "confirmed" && tx.state.step.startsWith("Vote ") ? tx.state.step.slice(5) : undefined;
  const voted = justVoted !== undefined || mine.data?.voted === true;
  const support = justVoted ?? mine.data?.support;
  return (
    <div>
      {voted && (
        <p className="your-vote" data-testid="your-vote">
          {support ? `You voted ${support}.` : "You voted."}
        </p>
      )}
      {p.state === "Active" && mine.data?.power !== undefined && (
        <p className="hint" data-testid="voting-power">
          Your voting power for this proposal: {formatToken(mine.data.power, "FLK", 18, 2)}.
        </p>
      )}
      <div className="actions">
        {p.state === "Active" &&
          !voted &&
          (["Against", "For", "Abstain"] as const).map((label, support) => (
            <button
              key={label}
              type="button"
              disabled={tx.busy || mine.loading}
              onClick={() => tx.run((send) => send(`Vote ${label}`, () => writer.governor.castVote(p.id, support)))}
            >
              Vote {label}
            </button>
          ))}
        {p.state === "Succeeded" && (
          <button type="button" disabled={tx.busy} onClick={() => tx.run((send) => send("Queue", () => writer.governor.queue(...args)))}>
            Queue in the timelock
          </button>
        )}
        {p.state === "Queued" && (
          <button type="button" disabled={tx.busy || now < p.eta} onClick={() => tx.run((send) => send("Execute", () => writer.governor.execute(...args)))}>
            {now < p.eta ? `Executable in ${formatDuration(p.eta - now)}` : "Execute"}
          </button>
        )}
      </div>
      <TxStatus state={tx.state} />
    </div>
  );
}

/** How many delegates the leaderboard lists. */
const LEADERBOARD_SIZE = 20;

/**
 * The accounts holding the most votes (Tally's delegates): their share of all voting power, their
 * own stake, and a button that delegates the connected wallet's votes to them.
 */
function Delegates() {
  const { data, version, deployment, refresh } = useApp();
  const { signer, account } = useWallet();
  const suite = useSuite();
  const board = useAsync(() => data.delegates(LEADERBOARD_SIZE), [data, version]);
  const mine = useAsync(async () => (account ? (await suite.staking.delegates(account)).toLowerCase() : undefined), [suite, account, version]);
  const writer = useMemo(() => (signer ? connectSuite(deployment, signer) : undefined), [deployment, signer]);
  const tx = useTransaction(refresh);
  return (
    <section aria-labelledby="delegates-h">
      <h2 id="delegates-h">Delegates</h2>
      <p className="hint">Voting power is staked FLK; stakers vote themselves or delegate to someone who votes for them.</p>
      <Loaded state={board} what="delegates">
        {(b) => (
          <Table
            label="Delegates table"
            columns={["Rank", "Delegate", "Voting power", "Share", "Own stake", { ariaLabel: "Actions" }]}
            rows={b.delegates}
            empty="Nobody holds votes yet: staking gives them."
            testId="delegates"
          >
            {(d) => {
              const rank = b.delegates.indexOf(d) + 1;
              const chosen = mine.data === d.address.toLowerCase();
              return (
                <tr key={d.address} data-testid="delegate-row">
                  <td>{rank}</td>
                  <th scope="row" title={d.address}>
                    {shortAddress(d.address)}
                    {account?.toLowerCase() === d.address.toLowerCase() ? " (you)" : ""}
                  </th>
                  <td>{formatToken(d.votes, "FLK", 18, 2)}</td>
                  <td data-testid="delegate-share">{formatShare(d.votes, b.totalVotes)}</td>
                  <td>{formatToken(d.staked, "FLK", 18, 2)}</td>
                  <td>
                    {chosen ? (
                      <span className="hint">Your delegate</span>
                    ) : (
                      writer && (
                        <button
                          type="button"
                          disabled={tx.busy}
                          onClick={() => tx.run((send) => send(`Delegate to ${shortAddress(d.address)}`, () => writer.staking.delegate(d.address)))}
                        >
                          Delegate
                        </button>
                      )
                    )}
                  </td>
                </tr>
              );
            }}
          </Table>
        )}
      </Loaded>
      {!writer && <p className="hint">Connect a wallet to delegate your votes.</p>}
      <TxStatus state={tx.state} />
    </section>
  );
}

function NewProposal() {
  return (
    <section aria-labelledby="new-h">
      <h2 id="new-h">Propose a parameter change</h2>
      <RequireWallet action="create a proposal">{(signer, account) => <NewProposalForm signer={signer} account={account} />}</RequireWallet>
    </section>
  );
}

function NewProposalForm({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh, version } = useApp();
  const suite = useSuite();
  const writer: Suite = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  const [key, setKey] = useState(PARAMETER_CHANGES[0].key);
  const [value, setValue] = useState("");
  const [description, setDescription] = useState("");
  const tx = useTransaction(() => {
    setValue("");
    setDescription("");
    refresh();
  });
  const change = PARAMETER_CHANGES.find((c) => c.key === key)!;
  // The governor weighs the proposer's votes just before the proposal's block: today's votes, unless they change meanwhile.
  const standing = useAsync(() => Promise.all([suite.staking.getVotes(account), suite.governor.proposalThreshold()]), [suite, account, version]);
  const current = useAsync(() => (change.current ? change.current(suite) : Promise.resolve(undefined)), [change, suite]);
  const error = value === "" ? undefined : change.check(value);
  const valid = value !== "" && error === undefined && description.trim() !== "";
  const submit = () =>
    tx.run(async (send) => {
      const { target, calldata } = await change.encode(writer, value);
      await send("Propose", () => writer.governor.propose([target], [0n], [calldata], description.trim()));
    });
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()}>
      {standing.data && (
        <p className={standing.data[0] < standing.data[1] ? "error" : "hint"} data-testid="proposer-power">
          Your voting power: {formatToken(standing.data[0], "FLK", 18, 2)}; proposing needs {formatToken(standing.data[1], "FLK", 18, 0)}
          {standing.data[0] < standing.data[1] ? ": stake or receive delegations first." : "."}
        </p>
      )}
      <div className="field">
        <label htmlFor="param">Parameter</label>
        <select id="param" value={key} onChange={(e) => setKey(e.target.value)}>
          {PARAMETER_CHANGES.map((c) => (
            <option key={c.key} value={c.key}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="param-value">New value ({change.unit})</label>
        <input id="param-value" value={value} onChange={(e) => setValue(e.target.value)} aria-invalid={error !== undefined} aria-describedby="param-range" />
        <small id="param-range" className="hint" data-testid="param-range">
          Allowed: {change.range}.{current.data !== undefined && ` Now: ${current.data}.`}
        </small>
        {error && (
          <small className="error" role="alert" data-testid="param-error">
            {error}
          </small>
        )}
      </div>
      <div className="field">
        <label htmlFor="desc">Description (the first line is the title)</label>
        <textarea id="desc" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <button type="submit" disabled={tx.busy || !valid} onClick={submit}>
        Propose
      </button>
      <TxStatus state={tx.state} />
    </form>
  );
}
