/**
 * The beacon duty against the real registry (Hardhat, over JSON-RPC): a member's reporter commits
 * during the epoch with the secret written to disk first; a restarted reporter over the same data
 * folder reveals it after the epoch's end, so a restart between commit and reveal costs no slash.
 * The consensus node is stood in by a fixed status (member of epoch 1): only the chain duties run.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { network } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network, ZeroHash } from "ethers";
import { EpochReporter, type ReportingNode } from "../../../node/app/epochReporter";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { SubmitStatus } from "../../../node/client/protocol";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Logger } from "../../../node/logger";
import { beaconCommitment } from "../../../protocol/committee";
import { registrySuite } from "../../../testkit/registry";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { waitFor } from "../consensus/cluster";

/**
 * Epoch 1 with four registered members on the registry served over JSON-RPC; member 0's reporter
 * is made by `reporter(chainClass)` over one data folder, its node stood in (member of epoch 1,
 * recording what it is asked to submit). `close()` removes the folder and stops the server.
 */
async function memberOfEpochOne() {
  const s = await loadFixture(registrySuite);
  const chain = await serveChain();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "beacon-"));
  const close = async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await chain.close();
  };
  const keys = Array.from({ length: 4 }, () => KeyPair.generate());
  const nodes = [];
  try {
    for (let i = 0; i < 4; i++) nodes.push(await registerChainNode(s, i, 22_000 + 10 * i, keys[i]));
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    await setBalance(nodes[0].signer.address, 10n ** 18n);
  } catch (err) {
    await close();
    throw err;
  }
  const me = nodes[0];
  // No response cache: a tick must see the block the test just mined.
  const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  const submitted: Buffer[] = [];
  const node: ReportingNode = {
    status: () => ({ epoch: 1, member: true }),
    submit: (txs) => (submitted.push(...txs), { accepted: txs.length, status: SubmitStatus.Ok, reason: "" }),
    subscribe: () => () => undefined,
  };
  const reporter = (Chain: typeof RegistryReporting = RegistryReporting) =>
    new EpochReporter({
      node,
      key: keys[0],
      wallet: me.signer,
      chain: new Chain(provider, CHAIN_ID, String(s.registry.target), me.signer),
      dataDir,
      logger: new Logger(),
    });
  return { s, me, dataDir, provider, submitted, reporter, close };
}

describe("app: beacon duty across a restart", function () {
  this.timeout(60_000);

  it("commits with the secret on disk, and a restarted reporter reveals it", async () => {
    const { s, me, dataDir, submitted, reporter, close } = await memberOfEpochOne();
    try {
      await reporter().tick();
      const { commitment, revealed } = await s.registry.beacons(1n, me.id);
      const { secret } = JSON.parse(fs.readFileSync(path.join(dataDir, "beacon", "epoch-1.json"), "utf8")) as { secret: string };
      expect(commitment).to.equal(beaconCommitment(1n, me.id, secret));
      expect(revealed).to.equal(false);
      expect(submitted).to.have.length(0, "nothing to say in consensus before the epoch's end");

      await time.increaseTo(await s.registry.epochEnd());
      await reporter().tick(); // a new process: only the data folder carries over
      expect((await s.registry.beacons(1n, me.id)).revealed).to.equal(true);
      expect(await s.registry.beaconMix(1n)).to.equal(secret);
      expect(submitted).to.have.length(2, "measurements and the close of epoch 1");
    } finally {
      await close();
    }
  });

  it("closes the epoch while its reveal has not mined, and starts no second reveal meanwhile", async () => {
    const { s, me, submitted, reporter, close } = await memberOfEpochOne();
    // A reveal whose transaction stays pending (a stalled RPC, a fee below the market's) until released.
    let reveals = 0;
    let release = () => {};
    class StalledReveal extends RegistryReporting {
      override revealBeacon(): Promise<void> {
        reveals++;
        return new Promise((resolve) => (release = resolve));
      }
    }
    try {
      const member = reporter(StalledReveal);
      await member.tick(); // commits during the epoch
      expect((await s.registry.beacons(1n, me.id)).commitment).to.not.equal(ZeroHash);

      await time.increaseTo(await s.registry.epochEnd());
      let firstDone = false;
      const first = member.tick().then(() => (firstDone = true));
      await waitFor(
        "the close submitted while the reveal is pending",
        () => submitted.length === 2 && reveals === 1,
        10_000,
        () => [submitted.length, reveals],
      );
      await member.tick(); // a later tick runs, and waits for no reveal of its own
      expect(reveals, "one reveal at a time").to.equal(1);
      expect(firstDone, "the tick that started the reveal awaits it").to.equal(false);
      release();
      await first;
    } finally {
      await close();
    }
  });

  it("gives up on a transaction that is not mined, so the sends queued behind it go", async () => {
    const { s, me, provider, close } = await memberOfEpochOne();
    const chain = new RegistryReporting(provider, CHAIN_ID, String(s.registry.target), me.signer, 0, 500);
    const commitment = beaconCommitment(1n, me.id, `0x${"42".repeat(32)}`);
    try {
      await network.provider.send("evm_setAutomine", [false]); // nothing mines: the commit stays pending
      const started = Date.now();
      const stuck = await chain.commitBeacon(me.id, commitment).then(
        () => "mined",
        (err: Error) => err.message,
      );
      expect(stuck).to.match(/timeout/i);
      expect(Date.now() - started).to.be.below(10_000);
      await network.provider.send("evm_setAutomine", [true]);
      await network.provider.send("evm_mine", []);
      expect((await s.registry.beacons(1n, me.id)).commitment, "the pending commit mined later").to.equal(commitment);
      // The next send is not held behind the first: the registry answers it (a second commit is refused).
      const next = await chain.commitBeacon(me.id, commitment).then(
        () => "mined",
        (err: Error) => err.message,
      );
      expect(next).to.not.match(/timeout/i);
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
      await close();
    }
  });
});
