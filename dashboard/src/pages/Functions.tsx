/**
 * Edge functions (docs/functions.md): the functions registered on FunctionRegistry with their latest
 * version, what a call costs at ServiceEscrow's compute prices, and a form that uploads a bundle to
 * a gateway and registers it (or publishes it as the next version of a function the wallet owns).
 */
import { useState } from "react";
import type { JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { connectSuite } from "../lib/contracts";
import { useTransaction } from "../lib/useTransaction";
import { useSuite } from "../lib/useChain";
import { useComputePrices, useEdgeFunctions, useFunctionVersions, FUNCTIONS_LISTED } from "../hooks/useFunctions";
import { describeError } from "../lib/revert";
import {
  bundleRoot,
  costPerMillionCalls,
  DEFAULT_LIMITS,
  defaultUploadGateway,
  deployPlan,
  nameHolder,
  type DeployPlan,
  parseFunctionName,
  parseLimits,
  putBundle,
  uploadBundle,
  type ComputePrices,
  type FunctionLimits,
} from "../lib/functions";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { Table } from "../components/Table";
import { TextField } from "../components/TextField";
import { TxStatus } from "../components/TxStatus";
import { UploadStatus } from "../components/UploadStatus";
import { RequireWallet } from "../components/RequireWallet";
import { formatDateTime, formatToken, shortAddress, USDC_DECIMALS } from "../lib/format";
import type { ComputePriceInfo, EdgeFunctionInfo } from "../data/source";

/** Prices go down to one USDC unit per million: all six decimals shown. */
const formatPrice = (units: bigint) => formatToken(units, "USDC", USDC_DECIMALS, USDC_DECIMALS);

export default function Functions() {
  const functions = useEdgeFunctions();
  const prices = useComputePrices();
  const [selected, setSelected] = useState<EdgeFunctionInfo>();
  return (
    <>
      <h1>Edge functions</h1>
      <section aria-labelledby="prices-h">
        <h2 id="prices-h">Compute prices</h2>
        <Loaded state={prices} what="compute prices">
          {(p) => (p ? <PriceStats prices={p} /> : <p className="empty">The indexer has not seen ServiceEscrow's prices yet.</p>)}
        </Loaded>
      </section>
      <section aria-labelledby="functions-h">
        <h2 id="functions-h">Functions</h2>
        <Loaded state={functions} what="functions">
          {(list) => <FunctionList functions={list} prices={prices.data ?? null} selected={selected?.id} onSelect={setSelected} />}
        </Loaded>
        {selected && <Versions fn={selected} />}
      </section>
      <section aria-labelledby="deploy-h">
        <h2 id="deploy-h">Deploy a function</h2>
        <RequireWallet action="deploy a function">{(signer, account) => <DeployForm signer={signer} account={account} />}</RequireWallet>
      </section>
    </>
  );
}

function PriceStats({ prices }: { prices: ComputePriceInfo }) {
  return (
    <>
      <dl className="stats">
        <Stat label="Per million requests" value={formatPrice(prices.perMillionRequests)} testId="price-requests" />
        <Stat label="Per million CPU-ms" value={formatPrice(prices.perMillionCpuMs)} testId="price-cpu" />
        <Stat label="A million calls of 50 CPU-ms" value={formatPrice(costPerMillionCalls(prices, 50))} testId="price-example" />
      </dl>
      <p className="hint">Set {formatDateTime(prices.setAt)}; the committee charges an epoch&apos;s calls at the prices in force at its first block.</p>
    </>
  );
}

function FunctionList({
  functions,
  prices,
  selected,
  onSelect,
}: {
  functions: EdgeFunctionInfo[];
  prices: ComputePrices | null;
  selected?: number;
  onSelect: (f: EdgeFunctionInfo) => void;
}) {
  return (
    <>
      <Table
        label="Functions table"
        columns={["Name", "Owner", "Version", "Root", "Limits", "Most per million calls", "Invocations", "Paid to nodes", "Updated", { ariaLabel: "Actions" }]}
        rows={functions}
        empty="No function is registered yet. Deploy one below."
      >
        {(f) => (
          <tr key={f.id} data-testid="function-row">
            <th scope="row">{f.name}</th>
            <td title={f.owner}>{shortAddress(f.owner)}</td>
            <td data-testid="function-version">{f.version}</td>
            <td title={f.root}>
              <code>{`${f.root.slice(0, 10)}…${f.root.slice(-6)}`}</code>
            </td>
            <td data-testid="function-limits">{formatLimits(f.limits)}</td>
            <td data-testid="function-cost">{prices ? formatPrice(costPerMillionCalls(prices, f.limits.cpuMs)) : "—"}</td>
            <td data-testid="function-invocations">{f.invocations.toLocaleString("en-US")}</td>
            <td data-testid="function-revenue">{formatPrice(f.revenue)}</td>
            <td>{formatDateTime(f.updatedAt)}</td>
            <td>
              <button type="button" aria-pressed={selected === f.id} onClick={() => onSelect(f)}>
                Versions
              </button>
            </td>
          </tr>
        )}
      </Table>
      {functions.length === FUNCTIONS_LISTED && <p className="hint">The first {FUNCTIONS_LISTED} functions are shown.</p>}
      <p className="hint">
        The most a call costs is at its CPU limit; a call that uses less CPU costs less. Invocations and what they paid cover every version over the reported
        epochs (the committee&apos;s reports itemize them per function and node).
      </p>
    </>
  );
}

/** A function's versions, newest first: each new root it published, with its limits. */
function Versions({ fn }: { fn: EdgeFunctionInfo }) {
  const versions = useFunctionVersions(fn.id);
  return (
    <>
      <h3 id="versions-h">Versions of {fn.name}</h3>
      <Loaded state={versions} what={`the versions of ${fn.name}`}>
        {(list) => (
          <Table label={`Versions of ${fn.name}`} columns={["Version", "Root", "Limits", "Published"]} rows={list}>
            {(v) => (
              <tr key={v.version} data-testid="version-row">
                <th scope="row">{v.version}</th>
                <td>
                  <code>{v.root}</code>
                </td>
                <td>{formatLimits(v.limits)}</td>
                <td>{formatDateTime(v.publishedAt)}</td>
              </tr>
            )}
          </Table>
        )}
      </Loaded>
    </>
  );
}

function formatLimits(l: FunctionLimits): string {
  return `${l.memoryMiB} MiB, ${l.cpuMs} ms CPU, ${l.wallMs.toLocaleString("en-US")} ms wall, ${l.bundleBytes.toLocaleString("en-US")} B`;
}

const LIMIT_FIELDS: { key: keyof FunctionLimits; label: string }[] = [
  { key: "memoryMiB", label: "Memory (MiB, at most 128)" },
  { key: "cpuMs", label: "CPU time per request (ms)" },
  { key: "wallMs", label: "Wall time per request (ms, at most 15,000)" },
  { key: "bundleBytes", label: "Bundle size (bytes, at most 10 MiB)" },
];

/** Upload to a gateway, then register the name (or publish the next version of the wallet's function). */
function DeployForm({ signer, account }: { signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const [name, setName] = useState("");
  const [bundleUrl, setBundleUrl] = useState("");
  const [bundleFile, setBundleFile] = useState<File | null>(null);
  const [gateway, setGateway] = useState(() => defaultUploadGateway(deployment, location.href));
  const [token, setToken] = useState("");
  const [limitText, setLimitText] = useState(
    () => Object.fromEntries(LIMIT_FIELDS.map((f) => [f.key, String(DEFAULT_LIMITS[f.key])])) as Record<keyof FunctionLimits, string>,
  );
  const [prep, setPrep] = useState<{ busy: boolean; root?: string; error?: string }>({ busy: false });
  const tx = useTransaction(refresh);
  const parsedName = parseFunctionName(name);
  const limits = parseLimits(limitText);
  const urlError = bundleUrl === "" || /^https?:\/\/\S+$/.test(bundleUrl) ? undefined : "An http or https URL the gateway can fetch.";
  // A file needs no token: registered first, it is uploaded by its root. A URL is fetched by the gateway with its operator's token.
  const source = bundleFile ? bundleUrl === "" : bundleUrl !== "" && !urlError && token !== "";
  const ready = parsedName.value !== undefined && limits.value !== undefined && source && gateway !== "";

  /**
   * Check the name on chain (no wallet prompt) and find the root (the file's hash, or the
   * gateway's answer once it fetched the URL), check the root, then the one transaction; a file is
   * uploaded after it, its registration being the gateway's permission.
   */
  const deploy = async () => {
    setPrep({ busy: true });
    let root: string | undefined;
    let plan: DeployPlan;
    const bytes = bundleFile ? new Uint8Array(await bundleFile.arrayBuffer()) : undefined;
    try {
      const holder = await nameHolder(reads.functionRegistry, parsedName.value!);
      plan = deployPlan(holder, account, null);
      if (plan.kind !== "refused") {
        root = bytes ? await bundleRoot(bytes) : await uploadBundle(gateway, token, bundleUrl);
        const published = await reads.functionRegistry.lookup(root);
        plan = deployPlan(holder, account, published.id === 0n ? null : { id: Number(published.id), version: Number(published.version) });
      }
    } catch (err) {
      return setPrep({ busy: false, error: describeError(err) });
    }
    setPrep({ busy: false, root: bytes ? undefined : root, error: plan.kind === "refused" ? plan.reason : undefined });
    if (plan.kind === "refused") return;
    const registry = connectSuite(deployment, signer).functionRegistry;
    const registered = await tx.run((send) =>
      plan.kind === "register"
        ? send(`Register ${parsedName.value}`, () => registry.register(parsedName.value!, root!, limits.value!))
        : send(`Publish version ${plan.nextVersion}`, () => registry.publish(plan.id, root!, limits.value!)),
    );
    if (!registered || !bytes) return;
    setPrep({ busy: true });
    try {
      await putBundle(gateway, root!, bytes);
      setPrep({ busy: false, root });
    } catch (err) {
      setPrep({ busy: false, error: `Registered, but the upload failed (upload the file again to finish): ${describeError(err)}` });
    }
  };

  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Deploy a function">
      <TextField label="Name (a-z, 0-9 and inner '-')" value={name} onChange={(v) => setName(v.trim())} error={parsedName.error} testId="function-name" />
      <div className="field">
        <label htmlFor="bundle-file">Bundle file (one ES module; uploaded once registered, no token needed)</label>
        <input
          id="bundle-file"
          type="file"
          accept=".js,.mjs,text/javascript"
          onChange={(e) => setBundleFile(e.target.files?.[0] ?? null)}
          data-testid="bundle-file"
        />
      </div>
      <TextField
        label="Or a bundle URL (the gateway fetches it with its operator's token)"
        value={bundleUrl}
        onChange={(v) => setBundleUrl(v.trim())}
        error={urlError}
        placeholder="https://…/bundle.js"
        testId="bundle-url"
      />
      <TextField label="Gateway" value={gateway} onChange={(v) => setGateway(v.trim())} placeholder="http://127.0.0.1:…" testId="gateway-url" />
      <div className="field">
        <label htmlFor="operator-token">Gateway operator token (for a URL)</label>
        <input
          id="operator-token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value.trim())}
          data-testid="operator-token"
        />
      </div>
      {LIMIT_FIELDS.map((f) => (
        <TextField
          key={f.key}
          label={f.label}
          inputMode="numeric"
          value={limitText[f.key]}
          onChange={(v) => setLimitText((t) => ({ ...t, [f.key]: v }))}
          testId={`limit-${f.key}`}
        />
      ))}
      {limits.error && (
        <p className="error" role="alert" data-testid="limits-error">
          {limits.error}
        </p>
      )}
      <UploadStatus
        busy={prep.busy}
        busyText="Uploading the bundle through the gateway…"
        done={
          prep.root && (
            <>
              Uploaded: content root <code>{prep.root}</code>
            </>
          )
        }
        doneTestId="uploaded-root"
        error={prep.error}
        errorTestId="deploy-error"
      />
      <div className="actions">
        <button type="submit" disabled={prep.busy || tx.busy || !ready} onClick={deploy}>
          Upload and register
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}
