import { useMemo, useState } from "react";
import { id as hashText, type JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
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
import { formatDateTime, formatDuration, formatToken, shortAddress } from "../lib/format";
import { PARAMETER_CHANGES, describeCall, validParameter } from "../lib/proposals";
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
            <NewProposal />
            <Stakers />
          </>
        )}
      </Loaded>
    </>
  );
}

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
  const pct = (v: bigint) => (total === 0n ? 0 : Number((v * 1000n) / total) / 10);
  return (
    <li className="card proposal" data-testid="proposal" data-state={p.state}>
      <h3>{p.description.split("\n")[0]}</h3>
      <p>
        <span className={`badge state-${p.state.toLowerCase()}`} data-testid="proposal-state">
          {p.state}
        </span>{" "}
        by {shortAddress(p.proposer)} · voting {formatDateTime(p.voteStart)} to {formatDateTime(p.voteEnd)}
        {p.state === "Pending" && ` (opens in ${formatDuration(p.voteStart - now)})`}
      </p>
      <ul>
        {p.targets.map((t, i) => (
          <li key={i}>{describeCall(suite, t, p.calldatas[i])}</li>
        ))}
      </ul>
      <dl className="tally">
        <Stat label="For" value={`${formatToken(p.forVotes, "FLK", 18, 2)} (${pct(p.forVotes)}%)`} testId="votes-for" />
        <Stat label="Against" value={`${formatToken(p.againstVotes, "FLK", 18, 2)} (${pct(p.againstVotes)}%)`} />
        <Stat label="Abstain" value={`${formatToken(p.abstainVotes, "FLK", 18, 2)} (${pct(p.abstainVotes)}%)`} />
        <Stat label="Quorum" value={p.quorum === 0n ? "set at the snapshot" : `${formatToken(quorumVotes, "FLK", 18, 0)} of ${formatToken(p.quorum, "FLK", 18, 0)}${quorumVotes >= p.quorum ? " (reached)" : ""}`} />
      </dl>
      {p.votes.length > 0 && (
        <ul aria-label="Latest votes" className="votes">
          {p.votes.map((v) => (
            <li key={v.voter} data-testid="vote">
              {shortAddress(v.voter)} voted {v.support.toLowerCase()} with {formatToken(v.weight, "FLK", 18, 2)}
            </li>
          ))}
        </ul>
      )}
      <ProposalActions proposal={p} now={now} />
    </li>
  );
}

function ProposalActions({ proposal: p, now }: { proposal: Proposal; now: bigint }) {
  const { signer } = useWallet();
  const { deployment, refresh } = useApp();
  const tx = useTransaction(refresh);
  const writer = useMemo(() => (signer ? connectSuite(deployment, signer) : undefined), [deployment, signer]);
  if (!writer) return p.state === "Active" ? <p className="hint">Connect a wallet to vote.</p> : null;
  const descriptionHash = hashText(p.description);
  const args = [p.targets, p.values, p.calldatas, descriptionHash] as const;
  return (
    <div>
      <div className="actions">
        {p.state === "Active" &&
          (["Against", "For", "Abstain"] as const).map((label, support) => (
            <button key={label} type="button" disabled={tx.busy} onClick={() => tx.run((send) => send(`Vote ${label}`, () => writer.governor.castVote(p.id, support)))}>
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

/** The largest stakers and the votes delegated to them, from the indexer. */
function Stakers() {
  const { data, version } = useApp();
  const stakers = useAsync(() => data.stakers(20), [data, version]);
  return (
    <section aria-labelledby="stakers-h">
      <h2 id="stakers-h">Largest stakers</h2>
      <Loaded state={stakers} what="stakers">
        {(list) => (
          <Table columns={["Staker", "Staked", "Votes held", "Delegates to"]} rows={list} empty="Nobody stakes yet.">
            {(s) => (
              <tr key={s.address} data-testid="staker-row">
                <th scope="row" title={s.address}>
                  {shortAddress(s.address)}
                </th>
                <td>{formatToken(s.staked, "FLK", 18, 2)}</td>
                <td>{formatToken(s.votes, "FLK", 18, 2)}</td>
                <td>{s.delegate.toLowerCase() === s.address.toLowerCase() ? "itself" : shortAddress(s.delegate)}</td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </section>
  );
}

function NewProposal() {
  return (
    <section aria-labelledby="new-h">
      <h2 id="new-h">Propose a parameter change</h2>
      <RequireWallet action="create a proposal">{(signer) => <NewProposalForm signer={signer} />}</RequireWallet>
    </section>
  );
}

function NewProposalForm({ signer }: { signer: JsonRpcSigner }) {
  const { deployment, refresh } = useApp();
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
  const valid = validParameter(change, value) && description.trim() !== "";
  const submit = () =>
    tx.run(async (send) => {
      const { target, calldata } = await change.encode(writer, value);
      await send("Propose", () => writer.governor.propose([target], [0n], [calldata], description.trim()));
    });
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()}>
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
        <input id="param-value" value={value} onChange={(e) => setValue(e.target.value)} aria-invalid={value !== "" && !validParameter(change, value)} />
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
