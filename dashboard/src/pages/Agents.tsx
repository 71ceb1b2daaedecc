/**
 * The agent marketplace (docs/agents.md): browse the listed agents, call one through a gateway,
 * see your escrow's spend; and for an owner, deploy an agent (upload its config and bundle through
 * a gateway, then register it), set its price, pause it, publish a new version, withdraw earnings.
 */
import { useState } from "react";
import type { ContractTransactionReceipt, Interface, JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { connectSuite } from "../lib/contracts";
import { useTransaction, type SendStep } from "../lib/useTransaction";
import { useReadProvider, useSuite } from "../lib/useChain";
import { useAsync } from "../lib/useAsync";
import { describeError } from "../lib/revert";
import { defaultUploadGateway, uploadBundle } from "../lib/functions";
import {
  callAgent,
  callAgentPaid,
  leaseFundingRefusal,
  leaseText,
  ownerRefusal,
  parseAgentName,
  parseAgentPath,
  parseCallPrice,
  parseLeaseFunding,
  parseMemoryMiB,
  parseOwnTokenPrice,
  tokenPriceLabel,
  tokenPriceRefusal,
  type PaidAnswer,
} from "../lib/agents";
import { callerKeyOf, paymentRefusal } from "../lib/callerKey";
import { callAgentWithToken, tokenRefusal } from "../lib/tokenCalls";
import { TokenPayment } from "./TokenPayment";
import { useWallet } from "../wallet/WalletContext";
import { AGENTS_LISTED, useAgentEarnings, useAgentMarket, useAgents, useEscrowDebits, useOwnCreatorToken } from "../hooks/useAgents";
import { useCreatorTokens } from "../hooks/useCreatorMarket";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TextField } from "../components/TextField";
import { TxStatus } from "../components/TxStatus";
import { UploadStatus } from "../components/UploadStatus";
import { RequireWallet } from "../components/RequireWallet";
import { formatAmount, formatBps, formatToken, shortAddress, USDC_DECIMALS } from "../lib/format";
import type { AgentInfo, AgentMarketInfo } from "../data/source";

/** Prices go down to one USDC unit: all six decimals shown. */
const usdc = (units: bigint) => formatToken(units, "USDC", USDC_DECIMALS, USDC_DECIMALS);

/** Creator token symbols by lower-case token address (the indexer's token list). */
type Symbols = ReadonlyMap<string, string>;

/** The USDC price and, when set, the token price with its token's symbol ("creator tokens" while the symbol is unknown). */
function formatPrice(p: AgentInfo["price"], symbols: Symbols): string {
  if (!p) return "—";
  const symbol = (p.token && symbols.get(p.token.toLowerCase())) ?? "creator tokens";
  const token = p.tokenPrice > 0n ? ` or ${formatToken(p.tokenPrice, symbol, 18, 18)}` : "";
  return `${usdc(p.price)}${token}`;
}

/** A token amount as the price fields take it back: plain digits, no grouping. */
const plain = (units: bigint, decimals: number) => formatAmount(units, decimals, decimals).replace(/,/g, "");

export default function Agents() {
  const agents = useAgents();
  const market = useAgentMarket();
  const tokens = useCreatorTokens();
  const symbols: Symbols = new Map((tokens.data ?? []).map((t) => [t.token.toLowerCase(), t.symbol]));
  const { deployment } = useApp();
  const [gateway, setGateway] = useState(() => defaultUploadGateway(deployment, location.href));
  const [calling, setCalling] = useState<number>();
  const [acked, setAcked] = useState<Tally>({ calls: 0, cpuUs: 0 });
  const countAck = (cpuUs: number) => setAcked((t) => ({ calls: t.calls + 1, cpuUs: t.cpuUs + cpuUs }));
  return (
    <>
      <h1>Agents</h1>
      <section aria-labelledby="market-h">
        <h2 id="market-h">Marketplace</h2>
        <Loaded state={market} what="the marketplace">
          {(m) => (m ? <MarketStats market={m} /> : <p className="empty">The indexer has not seen AgentMarketplace yet.</p>)}
        </Loaded>
      </section>
      <section aria-labelledby="agents-h">
        <h2 id="agents-h">Listed agents</h2>
        <Loaded state={agents} what="agents">
          {(list) => <AgentList agents={list} symbols={symbols} onCall={setCalling} />}
        </Loaded>
      </section>
      <section aria-labelledby="call-h">
        <h2 id="call-h">Call an agent</h2>
        <TextField label="Gateway" value={gateway} onChange={(v) => setGateway(v.trim())} placeholder="http://127.0.0.1:…" testId="agent-gateway" />
        <CallForm key={calling} gateway={gateway} initialId={calling} agents={agents.data ?? []} onAcknowledged={countAck} />
      </section>
      <section aria-labelledby="spend-h">
        <h2 id="spend-h">Your spend</h2>
        <RequireWallet action="see your spend">{(_, account) => <Spend account={account} acked={acked} />}</RequireWallet>
      </section>
      <section aria-labelledby="owner-h">
        <h2 id="owner-h">Your agents</h2>
        <RequireWallet action="deploy and manage agents">
          {(signer, account) => <OwnerPage signer={signer} account={account} agents={agents.data ?? []} gateway={gateway} />}
        </RequireWallet>
      </section>
    </>
  );
}

function MarketStats({ market }: { market: AgentMarketInfo }) {
  const s = market.split;
  return (
    <>
      <dl className="stats">
        <Stat label="Agents" value={market.agentCount.toLocaleString("en-US")} testId="market-agents" />
        <Stat label="Settled call revenue" value={usdc(market.revenue)} testId="market-revenue" />
        <Stat label="To owners" value={usdc(market.toOwners)} testId="market-owners" />
        <Stat label="To BuybackBurner (burns FLK)" value={usdc(market.toProtocol)} testId="market-burns" />
      </dl>
      <p className="hint" data-testid="market-split">
        Each call&apos;s price is split {formatBps(s.nodeBps)} to the serving node, {formatBps(s.ownerBps)} to the agent&apos;s owner and{" "}
        {formatBps(s.protocolBps)} to BuybackBurner, which buys FLK back and burns it.
      </p>
      {market.settlements.length > 0 && (
        <Table label="Settled epochs" columns={["Epoch", "Call revenue", "To BuybackBurner"]} rows={market.settlements}>
          {(e) => (
            <tr key={e.epoch} data-testid="settlement-row">
              <th scope="row">{e.epoch}</th>
              <td>{usdc(e.amount)}</td>
              <td>{usdc(e.toProtocol)}</td>
            </tr>
          )}
        </Table>
      )}
    </>
  );
}

function AgentList({ agents, symbols, onCall }: { agents: AgentInfo[]; symbols: Symbols; onCall: (id: number) => void }) {
  return (
    <>
      <Table
        label="Agents table"
        columns={["Id", "Name", "Owner", "Price per call", "State", "Hosting", "Calls", "Paid by calls", "Owner's share", "Version", { ariaLabel: "Actions" }]}
        rows={agents}
        empty="No agent is listed yet. Deploy one below."
      >
        {(a) => (
          <tr key={a.id} data-testid="agent-row">
            <td>{a.id}</td>
            <th scope="row">{a.name}</th>
            <td title={a.owner}>{shortAddress(a.owner)}</td>
            <td data-testid="agent-price">
              {formatPrice(a.price, symbols)}
              {a.price && <span className="hint"> from epoch {a.price.fromEpoch}</span>}
            </td>
            <td data-testid="agent-state">{a.paused ? "Paused" : "Listed"}</td>
            <td data-testid="agent-lease">{leaseText(a.leaseEndsAt, a.paused)}</td>
            <td data-testid="agent-calls">{a.calls.toLocaleString("en-US")}</td>
            <td data-testid="agent-charged">{usdc(a.charged)}</td>
            <td data-testid="agent-owner-share">{usdc(a.toOwner)}</td>
            <td>{a.version}</td>
            <td>
              <button type="button" disabled={a.paused} onClick={() => onCall(a.id)}>
                Call
              </button>
            </td>
          </tr>
        )}
      </Table>
      {agents.length === AGENTS_LISTED && <p className="hint">The first {AGENTS_LISTED} agents are shown.</p>}
      <p className="hint">
        Calls and what they paid come from the epoch reports (every node serving the agent); the owner&apos;s share is what settlements credited. A price
        applies from the epoch it names.
      </p>
    </>
  );
}

/** Calls this page acknowledged since it opened. */
interface Tally {
  calls: number;
  cpuUs: number;
}

/**
 * An HTTP request to `/agents/<id>/<path>` on a gateway, and its answer. With a wallet connected
 * the call is paid (docs/agents.md "Payment of calls"): the page's key for the account is sent as
 * the client (bound to the account's escrow when the node does not know it: the wallet signs),
 * and the node's receipt is countersigned and posted. Without one the call goes out unpaid (a paid node answers 402).
 * An agent priced in its owner's creator token can be paid with a voucher instead ({@link TokenPayment}).
 */
function CallForm({
  gateway,
  initialId,
  agents,
  onAcknowledged,
}: {
  gateway: string;
  initialId?: number;
  agents: AgentInfo[];
  onAcknowledged: (cpuUs: number) => void;
}) {
  const { account, signer, chainId, expectedChainId } = useWallet();
  const payer = signer && account && chainId === expectedChainId ? { signer, account } : undefined;
  const [id, setId] = useState(initialId === undefined ? "" : String(initialId));
  const [path, setPath] = useState("/");
  const [body, setBody] = useState("");
  const [state, setState] = useState<CallState>({ busy: false });
  const parsedPath = parseAgentPath(path);
  const idError = id === "" || /^[1-9][0-9]{0,9}$/.test(id) ? undefined : "An agent id: a whole number from 1.";
  const ready = id !== "" && !idError && parsedPath.value !== undefined && gateway !== "";
  const agent = agents.find((a) => a.id === Number(id));
  const price = agent?.price;
  /** Runs one call and keeps its answer, with a 402 explained by `explain`. */
  const send = async (call: () => Promise<PaidAnswer>, explain: (message: string) => string) => {
    setState({ busy: true });
    try {
      const answer = await call();
      if (answer.ackStatus === 202) onAcknowledged(answer.signedReceipt!.cpuUs);
      setState({ busy: false, answer, ...(answer.status === 402 ? { refusal: explain(messageOf(answer.body)) } : {}) });
    } catch (err) {
      setState({ busy: false, error: describeError(err) });
    }
  };
  const call = () =>
    send(
      () =>
        payer
          ? callAgentPaid(gateway, Number(id), parsedPath.value!, body, {
              key: callerKeyOf(localStorage, payer.account),
              account: payer.account,
              signMessage: (message) => payer.signer.signMessage(message),
            })
          : callAgent(gateway, Number(id), parsedPath.value!, body),
      (message) => paymentRefusal(message, usdc),
    );
  const { answer, refusal } = state;
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Call an agent">
      <TextField label="Agent id" inputMode="numeric" value={id} onChange={(v) => setId(v.trim())} error={idError} testId="call-id" />
      <TextField label="Path" value={path} onChange={setPath} error={parsedPath.error} testId="call-path" />
      <TextField label="Body (empty: GET; JSON is sent as JSON)" value={body} onChange={setBody} multiline testId="call-body" />
      <div className="actions">
        <button type="submit" disabled={state.busy || !ready} onClick={call}>
          Call
        </button>
      </div>
      <p className="hint" data-testid="call-payment">
        {payer
          ? `Paid from the escrow account of ${shortAddress(payer.account)}${price ? ` (${usdc(price.price)} a call from epoch ${price.fromEpoch}, plus its CPU)` : ""}: the page keeps a call key for this account, asks your wallet to let it pay when a node does not know it yet, and acknowledges each answer's receipt. The report of the epoch charges it (fund your escrow on the Account page).`
          : "Connect a wallet to pay for calls from your escrow account: without one, a node that charges for the agent answers 402."}
      </p>
      {payer && agent && agent.price && agent.price.tokenPrice > 0n && (
        <TokenPayment
          key={`${agent.id}:${payer.account}`}
          gateway={gateway}
          agent={agent}
          signer={payer.signer}
          account={payer.account}
          busy={state.busy}
          call={
            ready
              ? (payment, symbol) =>
                  send(
                    () => callAgentWithToken(gateway, agent.id, parsedPath.value!, body, payment),
                    (message) => tokenRefusal(message, (wei) => formatToken(wei, symbol)),
                  )
              : undefined
          }
        />
      )}
      {state.busy && <p aria-busy="true">Calling…</p>}
      {state.error && (
        <p className="error" role="alert" data-testid="call-error">
          {state.error}
        </p>
      )}
      {refusal && (
        <p className="error" role="alert" data-testid="call-refusal">
          {refusal}
        </p>
      )}
      {answer && (
        <div data-testid="agent-answer">
          <p>
            HTTP <span data-testid="answer-status">{answer.status}</span>
            {answer.receipt ? ", receipt signed by the node" : ""}
            {answer.truncated ? " (cut: the answer is longer)" : ""}
          </p>
          {answer.ackStatus !== undefined && (
            <p data-testid="answer-ack" className={answer.ackStatus === 202 ? "hint" : "error"}>
              {answer.ackStatus === 202
                ? `Acknowledged: the node measured ${answer.signedReceipt!.cpuUs.toLocaleString("en-US")} µs of CPU; the epoch's report charges the call to your escrow.`
                : `The node refused the acknowledgment (${answer.ackStatus}): ${answer.ackError}`}
            </p>
          )}
          <pre data-testid="answer-body">{answer.body}</pre>
        </div>
      )}
    </form>
  );
}

/** Where the call form stands: its last answer, a 402 in words, or why the call failed. */
interface CallState {
  busy: boolean;
  answer?: PaidAnswer;
  refusal?: string;
  error?: string;
}

/** The `error` of a gateway's JSON refusal, or the text as it is. */
function messageOf(body: string): string {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? body);
  } catch {
    return body;
  }
}

/** The account's escrow debits: what the reports charged it, all services together. */
function Spend({ account, acked }: { account: string; acked: Tally }) {
  const debits = useEscrowDebits(account);
  return (
    <Loaded state={debits} what="your escrow debits">
      {(list) => (
        <>
          {acked.calls > 0 && (
            <p data-testid="session-spend">
              This page acknowledged {acked.calls.toLocaleString("en-US")} {acked.calls === 1 ? "call" : "calls"} ({acked.cpuUs.toLocaleString("en-US")} µs of
              CPU): each is charged its agent&apos;s price for the epoch plus its CPU, in that epoch&apos;s debit below once the report is in.
            </p>
          )}
          <Table label="Your escrow debits" columns={["Epoch", "Debited"]} rows={list} empty="No report has debited your escrow account yet.">
            {(d) => (
              <tr key={d.epoch} data-testid="debit-row">
                <th scope="row">{d.epoch}</th>
                <td>{usdc(d.amount)}</td>
              </tr>
            )}
          </Table>
          <p className="hint">
            Each report debits your account once for all services (content, functions and agents): reports carry charges per node and agent, not per caller, so
            no one can read your calls from the chain.
          </p>
        </>
      )}
    </Loaded>
  );
}

/** The owner's part: earnings and withdrawal, the owned agents' controls, and deployment. */
function OwnerPage({ signer, account, agents, gateway }: { signer: JsonRpcSigner; account: string; agents: AgentInfo[]; gateway: string }) {
  const owned = agents.filter((a) => !ownerRefusal(a.owner, account));
  const [selected, setSelected] = useState<number>();
  const agent = owned.find((a) => a.id === selected);
  const ownToken = useOwnCreatorToken(account).data;
  return (
    <>
      <Earnings signer={signer} account={account} />
      {owned.length > 0 && (
        <div className="actions" role="group" aria-label="Your agents">
          {owned.map((a) => (
            <button key={a.id} type="button" aria-pressed={a.id === selected} onClick={() => setSelected(a.id)}>
              Manage {a.name} (#{a.id})
            </button>
          ))}
        </div>
      )}
      {agent && <ManageAgent key={agent.id} agent={agent} signer={signer} account={account} gateway={gateway} ownToken={ownToken} />}
      <h3>Deploy an agent</h3>
      <DeployAgent signer={signer} account={account} gateway={gateway} ownToken={ownToken} />
    </>
  );
}

function Earnings({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const earnings = useAgentEarnings(account);
  const tx = useTransaction(refresh);
  const [refusal, setRefusal] = useState<string>();
  const withdraw = async () => {
    // The chain's balance now: the indexer may lag a settlement or a withdrawal.
    const balance = await reads.agentMarketplace.balanceOf(account);
    if (balance === 0n) return setRefusal("Nothing to withdraw: settlements have not credited you since your last withdrawal.");
    setRefusal(undefined);
    await tx.run((send) => send(`Withdraw ${usdc(balance)}`, () => connectSuite(deployment, signer).agentMarketplace.withdraw()), "USDC");
  };
  return (
    <Loaded state={earnings} what="your earnings">
      {(e) => (
        <>
          <dl className="stats">
            <Stat label="Credited by settlements" value={usdc(e.credited)} testId="earned-credited" />
            <Stat label="Withdrawn" value={usdc(e.withdrawn)} testId="earned-withdrawn" />
            <Stat label="Withdrawable" value={usdc(e.balance)} testId="earned-balance" />
          </dl>
          <div className="actions">
            <button type="button" disabled={tx.busy} onClick={withdraw}>
              Withdraw
            </button>
          </div>
          {refusal && (
            <p className="error" role="alert" data-testid="withdraw-error">
              {refusal}
            </p>
          )}
          <TxStatus state={tx.state} />
        </>
      )}
    </Loaded>
  );
}

/** The account's creator token as the owner forms read it: null when not launched, undefined while read. */
type OwnToken = { token: string; symbol: string } | null | undefined;

/** Price, pause and new versions of one of the account's agents. */
function ManageAgent({
  agent,
  signer,
  account,
  gateway,
  ownToken,
}: {
  agent: AgentInfo;
  signer: JsonRpcSigner;
  account: string;
  gateway: string;
  ownToken: OwnToken;
}) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const tx = useTransaction(refresh);
  const [price, setPrice] = useState(agent.price ? plain(agent.price.price, USDC_DECIMALS) : "0");
  // The token price in force is kept unless changed: "Set price" sets both, and an empty field would end it.
  const [tokenPrice, setTokenPrice] = useState(agent.price && agent.price.tokenPrice > 0n ? plain(agent.price.tokenPrice, 18) : "");
  const [configUrl, setConfigUrl] = useState("");
  const [bundleUrl, setBundleUrl] = useState("");
  const [token, setToken] = useState("");
  const [prep, setPrep] = useState<{ busy: boolean; error?: string }>({ busy: false });
  const parsedPrice = parseCallPrice(price);
  const parsedToken = parseOwnTokenPrice(tokenPrice, ownToken);
  const [funding, setFunding] = useState("");
  const parsedFunding = parseLeaseFunding(funding);
  const market = () => connectSuite(deployment, signer).agentMarketplace;
  const provider = useReadProvider();
  // The lease as the chain sees it now: the indexer's end and the chain's clock (a devnet's may differ from the browser's).
  const chainNow = useAsync(async () => (await provider.getBlock("latest"))?.timestamp, [provider, agent.leaseEndsAt]);

  /** Checks the chain's owner now (the indexer may lag a transfer), then runs `action`. */
  const asOwner = async (action: () => Promise<string | void>) => {
    setPrep({ busy: true });
    try {
      const refusal = ownerRefusal((await reads.agentMarketplace.agents(agent.id)).owner, account) ?? (await action());
      setPrep({ busy: false, error: refusal || undefined });
    } catch (err) {
      setPrep({ busy: false, error: describeError(err) });
    }
  };
  const savePrice = () =>
    asOwner(async () => {
      const refusal = tokenPriceRefusal(parsedToken.value!, await reads.market.tokenExists(account));
      if (refusal) return refusal;
      await tx.run((send) => send(`Set the price of ${agent.name}`, () => market().setPrice(agent.id, parsedPrice.value!, parsedToken.value!)));
    });
  const togglePause = () =>
    asOwner(async () => {
      const paused = await reads.agentMarketplace.paused(agent.id);
      await tx.run((send) => send(paused ? `Resume ${agent.name}` : `Pause ${agent.name}`, () => market().setPaused(agent.id, !paused)));
    });
  const fundLease = () =>
    asOwner(async () => {
      const amount = parsedFunding.value!;
      const refusal = leaseFundingRefusal(amount, await reads.usdc.balanceOf(account));
      if (refusal) return refusal;
      const writer = connectSuite(deployment, signer);
      const spender = await writer.agentMarketplace.getAddress();
      await tx.run(async (send) => {
        // Approve only what is missing: an exact allowance, never an unlimited one.
        if ((await writer.usdc.allowance(account, spender)) < amount) await send("Approve USDC", () => writer.usdc.approve(spender, amount));
        await send(`Fund the hosting lease of ${agent.name}`, () => writer.agentMarketplace.fundLease(agent.id, amount));
      });
    });
  const publish = () =>
    asOwner(async () => {
      const configRoot = await uploadBundle(gateway, token, configUrl);
      const bundleRoot = await uploadBundle(gateway, token, bundleUrl);
      await tx.run((send) => send(`Publish version ${agent.version + 1} of ${agent.name}`, () => market().publish(agent.id, configRoot, bundleRoot)));
    });

  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label={`Manage ${agent.name}`}>
      <h3>
        {agent.name} (#{agent.id}): {agent.paused ? "paused" : "listed"}
      </h3>
      <PriceFields
        usdc={{ label: "Price per call (USDC, at most 1,000)", value: price, onChange: setPrice, error: parsedPrice.error, testId: "set-price" }}
        token={{ value: tokenPrice, onChange: setTokenPrice, error: parsedToken.error, testId: "set-token-price" }}
        ownToken={ownToken}
      />
      <p className="hint">A new price applies from the next epoch: calls served in this epoch are charged the price it started with.</p>
      <div className="actions">
        <button type="button" disabled={prep.busy || tx.busy || parsedPrice.value === undefined || parsedToken.value === undefined} onClick={savePrice}>
          Set price
        </button>
        <button type="button" disabled={prep.busy || tx.busy} onClick={togglePause}>
          {agent.paused ? "Resume calls" : "Pause calls"}
        </button>
      </div>
      <p className="hint">Pausing applies at once: nodes stop taking calls; calls already served this epoch are still charged.</p>
      <p data-testid="manage-lease">Hosting: {leaseText(agent.leaseEndsAt, agent.paused, chainNow.data)}</p>
      <TextField
        label={`Pay into the hosting lease (USDC; ${agent.memoryMiB} MiB reserved, charged by the second)`}
        inputMode="decimal"
        value={funding}
        onChange={setFunding}
        error={funding === "" ? undefined : parsedFunding.error}
        testId="fund-lease"
      />
      <div className="actions">
        <button type="button" disabled={prep.busy || tx.busy || parsedFunding.value === undefined} onClick={fundLease}>
          Fund lease
        </button>
      </div>
      <UploadFields configUrl={configUrl} setConfigUrl={setConfigUrl} bundleUrl={bundleUrl} setBundleUrl={setBundleUrl} token={token} setToken={setToken} />
      <div className="actions">
        <button type="button" disabled={prep.busy || tx.busy || !urlsReady(configUrl, bundleUrl, gateway, token)} onClick={publish}>
          Upload and publish a new version
        </button>
      </div>
      <UploadStatus busy={prep.busy} busyText="Checking and uploading…" error={prep.error} errorTestId="manage-error" />
      <TxStatus state={tx.state} />
    </form>
  );
}

const urlError = (url: string) => (url === "" || /^https?:\/\/\S+$/.test(url) ? undefined : "An http or https URL the gateway can fetch.");
const urlsReady = (config: string, bundle: string, gateway: string, token: string) =>
  config !== "" && bundle !== "" && !urlError(config) && !urlError(bundle) && gateway !== "" && token !== "";

/** The config and bundle URLs a gateway fetches into its blockstore, and its operator token. */
function UploadFields(p: {
  configUrl: string;
  setConfigUrl: (v: string) => void;
  bundleUrl: string;
  setBundleUrl: (v: string) => void;
  token: string;
  setToken: (v: string) => void;
}) {
  return (
    <>
      <TextField
        label="Config URL (the character/config JSON)"
        value={p.configUrl}
        onChange={(v) => p.setConfigUrl(v.trim())}
        error={urlError(p.configUrl)}
        placeholder="https://…/agent.json"
        testId="config-url"
      />
      <TextField
        label="Bundle URL (one ES module: fetch(request, env))"
        value={p.bundleUrl}
        onChange={(v) => p.setBundleUrl(v.trim())}
        error={urlError(p.bundleUrl)}
        placeholder="https://…/agent.js"
        testId="agent-bundle-url"
      />
      <div className="field">
        <label htmlFor="agent-operator-token">Gateway operator token</label>
        <input
          id="agent-operator-token"
          type="password"
          autoComplete="off"
          value={p.token}
          onChange={(e) => p.setToken(e.target.value.trim())}
          data-testid="agent-operator-token"
        />
      </div>
    </>
  );
}

/** One price field's text, its error and its test id. */
interface PriceInput {
  value: string;
  onChange: (value: string) => void;
  error?: string;
  testId: string;
}

/** An agent's two prices: per call in USDC, and optionally in the owner's creator token (named by its symbol). */
function PriceFields({ usdc, token, ownToken }: { usdc: PriceInput & { label: string }; token: PriceInput; ownToken: OwnToken }) {
  return (
    <>
      <TextField label={usdc.label} inputMode="decimal" value={usdc.value} onChange={usdc.onChange} error={usdc.error} testId={usdc.testId} />
      <TextField
        label={tokenPriceLabel(ownToken)}
        inputMode="decimal"
        value={token.value}
        onChange={token.onChange}
        error={token.error}
        testId={token.testId}
      />
    </>
  );
}

/** The id `register` gave the new agent, from the marketplace's AgentRegistered event (another contract's log of that shape is not it). */
function registeredId(receipt: ContractTransactionReceipt, market: { interface: Interface }, address: string): bigint {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue;
    const event = market.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (event?.name === "AgentRegistered") return event.args.getValue("id") as bigint;
  }
  throw new Error("The registration's receipt has no AgentRegistered event.");
}

/**
 * Upload the config and the bundle through the gateway, then `register` with the lease's memory and
 * the USDC price; with a token price, `setPrice` follows at once (`register` takes no token price),
 * so both apply from the same next epoch unless an epoch ends between the two transactions.
 */
function DeployAgent({ signer, account, gateway, ownToken }: { signer: JsonRpcSigner; account: string; gateway: string; ownToken: OwnToken }) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const [name, setName] = useState("");
  const [memory, setMemory] = useState("64");
  const [price, setPrice] = useState("0.01");
  const [tokenPrice, setTokenPrice] = useState("");
  const [configUrl, setConfigUrl] = useState("");
  const [bundleUrl, setBundleUrl] = useState("");
  const [token, setToken] = useState("");
  const [prep, setPrep] = useState<{ busy: boolean; roots?: [string, string]; error?: string }>({ busy: false });
  // Registered, but its token price not set yet (that transaction failed or was refused): the
  // button sets it for this agent rather than registering the agent a second time.
  const [unpriced, setUnpriced] = useState<{ id: bigint; name: string }>();
  const tx = useTransaction(refresh);
  const parsedName = parseAgentName(name);
  const parsedMemory = parseMemoryMiB(memory);
  const parsedPrice = parseCallPrice(price);
  const parsedToken = parseOwnTokenPrice(tokenPrice, ownToken);
  const ready =
    parsedName.value !== undefined &&
    parsedMemory.value !== undefined &&
    parsedPrice.value !== undefined &&
    parsedToken.value !== undefined &&
    urlsReady(configUrl, bundleUrl, gateway, token);

  const deploy = async () => {
    const [name, tokenWei] = [parsedName.value!, parsedToken.value!];
    const market = connectSuite(deployment, signer).agentMarketplace;
    const setTokenPrice = async (send: SendStep, agent: { id: bigint; name: string }) => {
      setUnpriced(agent);
      await send(`Set the token price of ${agent.name}`, () => market.setPrice(agent.id, parsedPrice.value!, tokenWei));
      setUnpriced(undefined);
    };
    if (unpriced) {
      await tx.run((send) => setTokenPrice(send, unpriced));
      return;
    }
    setPrep({ busy: true });
    let roots: [string, string];
    try {
      // The chain decides, before anything is uploaded: the token may not exist yet (or the page read it before a launch).
      const refusal = tokenPriceRefusal(tokenWei, tokenWei === 0n || (await reads.market.tokenExists(account)));
      if (refusal) return setPrep({ busy: false, error: refusal });
      roots = [await uploadBundle(gateway, token, configUrl), await uploadBundle(gateway, token, bundleUrl)];
    } catch (err) {
      return setPrep({ busy: false, error: describeError(err) });
    }
    setPrep({ busy: false, roots });
    await tx.run(async (send) => {
      const receipt = await send(`Register ${name}`, () => market.register(name, roots[0], roots[1], parsedMemory.value!, parsedPrice.value!));
      if (tokenWei > 0n) await setTokenPrice(send, { id: registeredId(receipt, market, deployment.contracts.agentMarketplace), name });
    });
  };

  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Deploy an agent">
      <TextField label="Name (1 to 64 bytes)" value={name} onChange={setName} error={parsedName.error} testId="agent-name" />
      <UploadFields configUrl={configUrl} setConfigUrl={setConfigUrl} bundleUrl={bundleUrl} setBundleUrl={setBundleUrl} token={token} setToken={setToken} />
      <TextField
        label="Memory the lease reserves (MiB, 1 to 4,096)"
        inputMode="numeric"
        value={memory}
        onChange={setMemory}
        error={parsedMemory.error}
        testId="agent-memory"
      />
      <PriceFields
        usdc={{
          label: "Price per call (USDC, at most 1,000; 0: free)",
          value: price,
          onChange: setPrice,
          error: parsedPrice.error,
          testId: "agent-price-input",
        }}
        token={{ value: tokenPrice, onChange: setTokenPrice, error: parsedToken.error, testId: "agent-token-price-input" }}
        ownToken={ownToken}
      />
      <p className="hint">
        The agent is served from the epoch after its registration, at this price, once its hosting lease is funded (below, after registering): nodes refuse its
        calls with 402 while the lease is empty. A price in your creator token is a second transaction right after the registration: callers may then pay either
        price.
      </p>
      <UploadStatus
        busy={prep.busy}
        busyText="Uploading the config and the bundle through the gateway…"
        done={
          prep.roots && (
            <>
              Uploaded: config <code>{prep.roots[0]}</code>, bundle <code>{prep.roots[1]}</code>
            </>
          )
        }
        doneTestId="agent-roots"
        error={prep.error}
        errorTestId="agent-deploy-error"
      />
      <div className="actions">
        <button type="submit" disabled={prep.busy || tx.busy || !ready} onClick={deploy}>
          {unpriced ? `Set the token price of agent ${unpriced.id}` : "Upload and register"}
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}
