/**
 * End to end: the devnet (scripts/devnet.ts in a child process, so its clock jumps stay out of the
 * other tests' chain), the production build of the dashboard served as static files, and Debian's
 * Chromium driven by playwright-core with an EIP-6963 test wallet that signs with Hardhat account 0.
 * Every action is checked on-chain and on screen; screenshots land in test-artifacts/dashboard/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { expect } from "chai";
import { Contract, JsonRpcProvider, Wallet, formatUnits, parseEther, type EventLog } from "ethers";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { GOVERNANCE } from "../../ignition/governance";
import { serveDashboard, type DashboardServer } from "../../scripts/network/dashboard";
import { GENESIS_ALLOCATIONS, vestedAmount } from "../../ignition/genesis";

const ROOT = path.resolve(__dirname, "../..");
const DIST = path.join(ROOT, "dist/dashboard");
const ARTIFACTS = path.join(ROOT, "test-artifacts/dashboard");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Hardhat account 0 ("test test … junk"): the sale beneficiary of ignition/parameters/local.json. */
const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FIRST_PAGE_BUDGET_BYTES = 350 * 1024;
const INTERACTIVE_BUDGET_MS = 2000;
const OVERLOADED_CEILING_MS = 6000;

interface Deployment {
  chainId: number;
  rpcUrl: string;
  contracts: Record<string, string>;
}

const abi = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, "artifacts/contracts", file), "utf8")).abi;

/** Starts scripts/devnet.ts on a free port and resolves with what it wrote to addresses.json. */
async function startDevnet(dir: string): Promise<{ child: ChildProcess; deployment: Deployment }> {
  const out = path.join(dir, "addresses.json");
  const child = spawn(path.join(ROOT, "node_modules/.bin/hardhat"), ["run", "scripts/devnet.ts"], {
    cwd: ROOT,
    env: { ...process.env, DEVNET_PORT: "0", DEVNET_ADDRESSES: out },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: the hardhat launcher runs the script in a child node process, which a
    // signal to the launcher alone would leave running.
    detached: true,
  });
  // Should the test process end before `after` runs, the chain must not outlive it.
  const orphanGuard = () => child.exitCode === null && child.pid !== undefined && process.kill(-child.pid, "SIGTERM");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(out) || !log.includes("Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`devnet exited:\n${log}`);
    if (Date.now() > deadline) {
      await stopDevnet(child);
      throw new Error(`devnet did not start in 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, deployment: JSON.parse(fs.readFileSync(out, "utf8")) };
}

/** Stops the devnet's whole process group and waits for the launcher to exit. */
async function stopDevnet(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}

/** Gzipped bytes of what the first page loads: index.html and the assets it references (lazy pages excluded). */
function firstPageGzipBytes(): number {
  const html = fs.readFileSync(path.join(DIST, "index.html"), "utf8");
  const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
  return [Buffer.from(html), ...assets.map((a) => fs.readFileSync(path.join(DIST, a)))].reduce((sum, b) => sum + zlib.gzipSync(b, { level: 9 }).length, 0);
}

/**
 * The test wallet in the page: an EIP-1193 provider announced through EIP-6963 whose requests the
 * test answers (see {@link walletRequest}).
 */
const WALLET_SCRIPT = `(() => {
  const listeners = {};
  const provider = {
    async request({ method, params }) {
      const { result, error } = JSON.parse(await window.__testWallet(JSON.stringify({ method, params: params ?? [] })));
      if (error) throw Object.assign(new Error(error.message), error);
      return result;
    },
    on(event, fn) { (listeners[event] ??= []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); },
  };
  const info = { uuid: "6a4c1d1e-0000-4000-8000-000000000001", name: "Hardhat test wallet", icon: "", rdns: "org.hardhat.test-wallet" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

describe("Dashboard end to end (Chromium, devnet, built app)", function () {
  this.timeout(300_000);

  let tmp: string;
  let devnet: ChildProcess | undefined;
  let deployment: Deployment;
  let server: DashboardServer | undefined;
  let url: string;
  let context: BrowserContext | undefined;
  let page: Page;
  let rpc: JsonRpcProvider;
  let wallet: Wallet;
  const consoleErrors: string[] = [];

  /** Raw JSON-RPC to the devnet, errors passed through untouched like a real wallet does. */
  async function rawRpc(method: string, params: unknown[]) {
    const response = await fetch(deployment.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    return (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  }

  /** Answers the page wallet: accounts and chain from the test, transactions signed with account 0, the rest forwarded. */
  async function walletRequest(json: string): Promise<string> {
    const { method, params } = JSON.parse(json) as { method: string; params: any[] };
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return JSON.stringify({ result: [wallet.address] });
      case "eth_chainId":
        return JSON.stringify({ result: `0x${deployment.chainId.toString(16)}` });
      case "wallet_switchEthereumChain":
        return JSON.stringify({ result: null });
      case "eth_sendTransaction": {
        const tx = params[0];
        try {
          const sent = await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value ?? 0n, gasLimit: tx.gas });
          return JSON.stringify({ result: sent.hash });
        } catch (err) {
          const e = err as { shortMessage?: string; message: string; data?: string };
          if (process.env.E2E_DEBUG) console.log("SEND", JSON.stringify(tx), e.message);
          return JSON.stringify({ error: { code: 3, message: e.shortMessage ?? e.message, data: e.data } });
        }
      }
      default: {
        const r = await rawRpc(method, params);
        if (r.error && process.env.E2E_DEBUG) console.log("RPC", method, JSON.stringify(params), JSON.stringify(r.error));
        return JSON.stringify(r);
      }
    }
  }

  async function advanceTime(seconds: bigint) {
    await rawRpc("evm_increaseTime", [Number(seconds)]);
    await rawRpc("evm_mine", []);
  }

  async function screenshot(name: string) {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  /** Waits until `step`'s transaction in `scope` settles and returns its status line, failing with the reason shown. */
  async function settled(scope: ReturnType<Page["locator"]>, step: string) {
    const status = scope.getByTestId("tx-status").filter({ hasText: new RegExp(`^${step}(: confirmed| failed)`) });
    await status.waitFor({ timeout: 30_000 });
    const text = await status.textContent();
    expect(await status.getAttribute("data-status"), text ?? "").to.equal("confirmed");
    return text;
  }

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.CI === "true") throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (apt-get install -y chromium)`);
      console.log(`    skipped: Chromium not found at ${CHROMIUM}; run \`apt-get install -y chromium\` (or set CHROMIUM_PATH) to run the dashboard end-to-end test`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-e2e-"));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Build and start the chain at once: both take a while on a shared machine.
    const build = new Promise<void>((resolve, reject) => {
      const child = spawn(path.join(ROOT, "node_modules/.bin/vite"), ["build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"], { cwd: ROOT, stdio: "inherit" });
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`))));
    });
    const started = await startDevnet(tmp);
    devnet = started.child;
    deployment = started.deployment;
    await build;
    server = await serveDashboard(DIST, () => deployment);
    url = server.url;
    // No response cache: the wallet must see each new nonce right after the previous transaction.
    rpc = new JsonRpcProvider(deployment.rpcUrl, deployment.chainId, { staticNetwork: true, cacheTimeout: -1 });
    wallet = new Wallet(KEY, rpc);

    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
      viewport: { width: 1280, height: 900 },
    });
    await context.exposeFunction("__testWallet", walletRequest);
    await context.addInitScript(WALLET_SCRIPT);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(e.message));
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (devnet) await stopDevnet(devnet);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("keeps the first page within 350 KB gzipped and interactive within 2 s", async () => {
    const bytes = firstPageGzipBytes();
    await page.goto(url, { waitUntil: "commit" });
    await page.getByTestId("total-supply").waitFor();
    // Set by the Overview once it has rendered the chain's data (dashboard/src/pages/Overview.tsx).
    const interactiveMs = await page.evaluate(() => performance.getEntriesByName("fleek:first-page-interactive")[0].startTime);
    const [load] = os.loadavg();
    const cores = os.cpus().length;
    console.log(`    first page: ${(bytes / 1024).toFixed(1)} KB gzipped (budget 350 KB), interactive in ${interactiveMs.toFixed(0)} ms (budget ${INTERACTIVE_BUDGET_MS} ms; load average ${load.toFixed(1)} on ${cores} cores)`);
    expect(bytes).to.be.at.most(FIRST_PAGE_BUDGET_BYTES);
    // The 2 s budget is for this machine, not for it running several other builds at once: over
    // one runnable process per core the timing measures the neighbours, so only a gross
    // regression fails the test then.
    if (load <= cores) expect(interactiveMs).to.be.below(INTERACTIVE_BUDGET_MS);
    else {
      console.log(`    (2 s budget not asserted: the machine is oversubscribed; ceiling ${OVERLOADED_CEILING_MS} ms)`);
      expect(interactiveMs).to.be.below(OVERLOADED_CEILING_MS);
    }
    // The supply on screen is the chain's.
    expect(await page.getByTestId("total-supply").textContent()).to.equal("100,000,000 FLK");
    // SPEC §2: 28M unlocked at the TGE, the rest locked (a few FLK have vested in the seconds since).
    expect(await page.getByTestId("circulating").textContent()).to.match(/^28,000,0\d\d FLK$/);
    expect(await page.getByTestId("locked").textContent()).to.match(/^71,999,9\d\d FLK$/);
    // The page computes "locked" with the genesis formulas instead of a second round trip: it
    // must agree with the contract's own view to within a wei per schedule.
    const vesting = new Contract(deployment.contracts.vesting, abi("token/Vesting.sol/Vesting.json"), rpc);
    const [now, tge] = [BigInt((await rpc.getBlock("latest"))!.timestamp), await vesting.start()];
    const formula = GENESIS_ALLOCATIONS.reduce((sum, a) => sum + a.total - vestedAmount(a, a.total, now - tge), 0n);
    const onChain: bigint = await vesting.lockedAt(now);
    expect(formula - onChain).to.be.within(-8n, 8n);
    await screenshot("overview");
  });

  it("connects the EIP-6963 test wallet", async () => {
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByRole("button", { name: /Hardhat test wallet/ }).click();
    expect(await page.getByTestId("account").textContent()).to.equal("0xf39F…2266");
  });

  it("releases the sale allocation and stakes 20,000 FLK", async () => {
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const staking = new Contract(deployment.contracts.staking, abi("staking/Staking.sol/Staking.json"), rpc);
    await page.getByRole("link", { name: "Account" }).click();
    const vesting = page.locator("section", { has: page.getByRole("heading", { name: "Vesting" }) });
    await vesting.getByRole("button", { name: "Release" }).click();
    await settled(vesting, "Release");
    expect(await flk.balanceOf(wallet.address)).to.equal(parseEther("20000000"));
    await page.getByTestId("balance").filter({ hasText: "20,000,000 FLK" }).waitFor();

    const stake = page.locator("section", { has: page.getByRole("heading", { name: "Stake", exact: true }) });
    await stake.getByLabel("Amount").fill("20,000");
    await stake.getByRole("button", { name: "Stake", exact: true }).click();
    await settled(stake, "Stake");
    expect(await staking.stakeOf(wallet.address)).to.equal(parseEther("20000"));
    expect(await staking.getVotes(wallet.address)).to.equal(parseEther("20000"));
    await page.getByTestId("staked-balance").filter({ hasText: "20,000 FLK" }).waitFor();
    expect(await page.getByTestId("tier").textContent()).to.equal("2 of 3");

    // A failing transaction shows the contract's reason in words.
    await stake.getByLabel("Amount").fill("30000");
    await stake.getByRole("button", { name: "Unstake" }).click();
    const failed = stake.locator('[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).to.equal("Unstake failed: You asked to unstake 30,000 FLK but only 20,000 FLK is staked.");
    await screenshot("account");
  });

  it("proposes a parameter change, votes for it, queues and executes it", async () => {
    const governor = new Contract(deployment.contracts.governor, abi("governance/FleekGovernor.sol/FleekGovernor.json"), rpc);
    const staking = new Contract(deployment.contracts.staking, abi("staking/Staking.sol/Staking.json"), rpc);
    await page.getByRole("link", { name: "Governance" }).click();
    await page.getByText("No proposals yet.").waitFor();
    await page.getByLabel("Parameter", { exact: true }).selectOption({ label: "Staking unbonding period" });
    await page.getByLabel(/New value/).fill("3");
    await page.getByLabel(/Description/).fill("Shorten unbonding to 3 days\nFaster exits for stakers.");
    await page.getByRole("button", { name: "Propose" }).click();
    await settled(page.locator("form", { has: page.getByRole("button", { name: "Propose" }) }), "Propose");
    const [created] = await governor.queryFilter(governor.filters.ProposalCreated());
    const id = (created as EventLog).args.proposalId as bigint;
    const proposal = page.getByTestId("proposal");
    await proposal.filter({ hasText: "Shorten unbonding to 3 days" }).waitFor();
    expect(await proposal.getByTestId("proposal-state").textContent()).to.equal("Pending");

    await advanceTime(GOVERNANCE.votingDelay + 1n);
    await page.reload();
    await proposal.and(page.locator('[data-state="Active"]')).waitFor();
    await proposal.getByRole("button", { name: "Vote For" }).click();
    await settled(proposal, "Vote For");
    expect(await governor.hasVoted(id, wallet.address)).to.equal(true);
    const [, forVotes] = await governor.proposalVotes(id);
    expect(forVotes).to.equal(parseEther("20000"));
    await proposal.getByTestId("votes-for").filter({ hasText: "20,000 FLK (100%)" }).waitFor();
    await screenshot("governance-voted");

    await advanceTime(GOVERNANCE.votingPeriod + 1n);
    await page.reload();
    await proposal.getByRole("button", { name: "Queue in the timelock" }).click();
    await settled(proposal, "Queue");
    expect(await governor.state(id)).to.equal(5n); // Queued
    await advanceTime(GOVERNANCE.timelockDelay + 1n);
    await page.reload();
    await proposal.getByRole("button", { name: "Execute" }).click();
    await settled(proposal, "Execute");
    expect(await staking.unbondingPeriod()).to.equal(3n * 86_400n);
    await proposal.and(page.locator('[data-state="Executed"]')).waitFor();
    await screenshot("governance-executed");
  });

  it("launches its own creator token, buys and sells it with a quote, slippage and deadline, and claims the creator fees", async () => {
    const CREATOR = wallet.address;
    const market = new Contract(deployment.contracts.creatorMarket, abi("creator/CreatorMarket.sol/CreatorMarket.json"), rpc);
    await page.getByRole("link", { name: "Creator tokens" }).click();
    await page.getByText("No creator tokens yet.").waitFor();
    await page.getByLabel(/Creator address/).fill(CREATOR);
    const form = page.locator("form", { has: page.getByRole("radiogroup") });
    await form.getByLabel("Tokens").fill("10");
    await form.getByTestId("quote").filter({ hasText: /^Costs/ }).waitFor();
    const [expectedCost] = await market.buyCost(CREATOR, parseEther("10"));
    const flkToken = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const flkBefore = await flkToken.balanceOf(wallet.address);
    await form.getByRole("button", { name: "Buy" }).click();
    await settled(form, "Buy");
    const token = new Contract(await market.tokenOf(CREATOR), abi("creator/CreatorToken.sol/CreatorToken.json"), rpc);
    expect(await token.balanceOf(wallet.address)).to.equal(parseEther("10"));
    const flkAfter = await flkToken.balanceOf(wallet.address);
    expect(flkBefore - flkAfter).to.equal(expectedCost);
    await page.getByTestId("creator-balance").filter({ hasText: /^10$/ }).waitFor();
    await page.getByTestId("creator-row").first().waitFor();
    expect(await page.getByTestId("curve-supply").textContent()).to.equal("10");

    await form.getByLabel("Sell").check();
    await form.getByLabel("Tokens").fill("4");
    await form.getByTestId("quote").filter({ hasText: /^Returns/ }).waitFor();
    await form.getByRole("button", { name: "Sell" }).click();
    await settled(form, "Sell");
    expect(await token.balanceOf(wallet.address)).to.equal(parseEther("6"));
    await page.getByTestId("creator-balance").filter({ hasText: /^6$/ }).waitFor();
    const fees = await market.creatorFeesOf(CREATOR);
    expect(fees).to.be.greaterThan(0n);
    const feesSection = page.locator("section", { has: page.getByRole("heading", { name: "Your creator fees" }) });
    const flkBeforeClaim = await flkToken.balanceOf(wallet.address);
    await feesSection.getByRole("button", { name: "Claim" }).click();
    await settled(feesSection, "Claim creator fees");
    expect(await market.creatorFeesOf(CREATOR)).to.equal(0n);
    expect((await flkToken.balanceOf(wallet.address)) - flkBeforeClaim).to.equal(fees);
    await feesSection.getByTestId("creator-fees").filter({ hasText: /^0 FLK$/ }).waitFor();
    await screenshot("creators");
  });

  it("registers a node with an FLK approval, adds and locks stake, and shows a registry revert in words", async () => {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc);
    const KEY = `0x${"5e".repeat(32)}`;
    const SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // Hardhat account 1
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Nodes" }).waitFor();
    const [epoch] = await registry.committee();
    expect(await page.getByTestId("epoch").textContent()).to.equal(epoch.toString());
    const nodeId = Number(await registry.nodeCount()) + 1;

    const form = page.getByRole("form", { name: "Register a node" });
    const fill = async () => {
      await form.getByLabel(/Node key/).fill(KEY);
      await form.getByLabel(/Signer address/).fill(SIGNER);
      await form.getByLabel("Host", { exact: true }).fill("node1.example.org");
      await form.getByLabel(/^Stake/).fill("1500");
    };
    // The form refuses what the contract would: a short key keeps the submit disabled.
    await form.getByLabel(/Node key/).fill("0x1234");
    await form.getByText(/this is 4 digits/).waitFor();
    expect(await form.getByRole("button", { name: "Approve and register" }).isDisabled()).to.equal(true);
    await fill();
    await form.getByRole("button", { name: "Approve and register" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Register a node" }) });
    await settled(section, "Register node");
    const [node] = await registry.getNodes([nodeId]);
    expect(node.owner).to.equal(wallet.address);
    expect(node.nodeKey).to.equal(KEY);
    expect(node.signer).to.equal(SIGNER);
    expect(node.status).to.equal(1n); // Pending until the next epoch change
    expect(node.stake).to.equal(parseEther("1500"));
    expect(node.endpoints.host).to.equal("node1.example.org");
    expect(node.endpoints.ports.gateway).to.equal(4220n);
    const row = page.getByTestId(`node-${nodeId}`);
    await row.getByTestId("node-status").filter({ hasText: /^pending$/ }).waitFor();
    expect(await row.textContent()).to.contain("1,500 FLK");

    // Registering the same key again: the wallet's estimate fails and the registry's error is shown in words.
    await fill();
    await form.getByRole("button", { name: "Approve and register" }).click();
    const failed = section.locator('[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).to.equal(`Register node failed: This node key is already registered, by node ${nodeId}.`);

    const own = page.locator("section", { has: page.getByRole("heading", { name: `Your node ${nodeId}` }) });
    await own.getByLabel("Add stake", { exact: true }).fill("250");
    await own.getByRole("button", { name: "Add stake" }).click();
    await settled(own, "Add stake");
    expect((await registry.getNodes([nodeId]))[0].stake).to.equal(parseEther("1750"));
    await row.filter({ hasText: "1,750 FLK" }).waitFor();

    await own.getByLabel("Lock for more epochs").fill("30");
    await own.getByRole("button", { name: "Lock stake" }).click();
    await settled(own, "Lock stake");
    const lockedUntil = (await registry.getNodes([nodeId]))[0].lockedUntil;
    expect(lockedUntil).to.equal((await registry.currentEpoch()) + 30n);
    await row.filter({ hasText: new RegExp(`${lockedUntil}$`) }).waitFor();
    await screenshot("nodes-registered");
  });

  it("shows the next epoch's committee once the registered node has joined the active set", async () => {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    // No committee yet, so the epoch may change without a report once it has ended.
    const latest = BigInt((await rpc.getBlock("latest"))!.timestamp);
    await advanceTime((await registry.epochEnd()) - latest + 1n);
    await (await registry.advanceEpoch()).wait();
    const [epoch, start, , members] = await registry.committee();
    expect(epoch).to.equal(1n);
    expect(members.map((m: { id: bigint }) => m.id)).to.deep.equal([1n]);
    expect((await registry.getNodes([1]))[0].status).to.equal(2n); // Active

    // The page reads the registry again when it is opened again.
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("total-supply").waitFor();
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Committee of epoch 1" }).waitFor();
    expect(await page.getByTestId("epoch-start").textContent()).to.equal(`${new Date(Number(start) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`);
    expect(await page.getByRole("list", { name: "Committee members" }).getByRole("listitem").allTextContents()).to.deep.equal([
      `Node 1 (node1.example.org), signer 0x7099…79C8`,
    ]);
    expect(await page.getByTestId("node-1").getByTestId("node-status").textContent()).to.equal("active");
    await screenshot("nodes-committee");
  });

  it("shows the nodes page and logs no console errors anywhere", async () => {
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Nodes" }).waitFor();
    // The node half of emission streams to the registry's rewards pool (ignition/modules/Fleek.ts).
    const emission = new Contract(deployment.contracts.emission, abi("token/Emission.sol/Emission.json"), rpc);
    expect(await emission.nodeRecipient()).to.equal(deployment.contracts.rewards);
    expect(await page.getByTestId("node-recipient").textContent()).to.contain("the epoch rewards pool (EpochRewards)");
    expect(await page.getByTestId("node-emission").textContent()).to.match(/^[\d,]+(\.\d+)? FLK$/);
    await screenshot("nodes");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("total-supply").waitFor();
    // The creator trades burned their 1% fee: two burns, listed newest first, summed in "Burned".
    const burnRows = page.getByTestId("burn-row");
    await burnRows.nth(1).waitFor();
    expect(await burnRows.count()).to.equal(2);
    expect(await burnRows.first().textContent()).to.contain("Creator market (trading fee)");
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const burned = BigInt(await flk.totalMinted()) - BigInt(await flk.totalSupply());
    expect(burned).to.be.greaterThan(0n);
    expect(await page.getByTestId("burned").textContent()).to.equal(`${formatUnits(burned, 18).replace(/(\.\d{6})\d*$/, "$1").replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")} FLK`);
    await screenshot("overview-mobile");
    expect(consoleErrors).to.deep.equal([]);
  });
});
