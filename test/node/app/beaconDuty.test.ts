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
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network } from "ethers";
import { EpochReporter, type ReportingNode } from "../../../node/app/epochReporter";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { SubmitStatus } from "../../../node/client/protocol";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Logger } from "../../../node/logger";
import { beaconCommitment } from "../../../protocol/committee";
import { registrySuite } from "../../../testkit/registry";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";

describe("app: beacon duty across a restart", function () {
  this.timeout(60_000);

  it("commits with the secret on disk, and a restarted reporter reveals it", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "beacon-"));
    try {
      const keys = Array.from({ length: 4 }, () => KeyPair.generate());
      const nodes = [];
      for (let i = 0; i < 4; i++) nodes.push(await registerChainNode(s, i, 22_000 + 10 * i, keys[i]));
      await time.increaseTo(await s.registry.epochEnd());
      await s.registry.advanceEpoch();
      const me = nodes[0];
      await setBalance(me.signer.address, 10n ** 18n);
      // No response cache: the second tick must see the block the test just mined.
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
      const submitted: Buffer[] = [];
      const node: ReportingNode = {
        status: () => ({ epoch: 1, member: true }),
        submit: (txs) => (submitted.push(...txs), { accepted: txs.length, status: SubmitStatus.Ok, reason: "" }),
        subscribe: () => () => undefined,
      };
      const reporter = () =>
        new EpochReporter({
          node,
          key: keys[0],
          wallet: me.signer,
          chain: new RegistryReporting(provider, CHAIN_ID, String(s.registry.target), me.signer),
          dataDir,
          logger: new Logger(),
        });

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
      fs.rmSync(dataDir, { recursive: true, force: true });
      await chain.close();
    }
  });
});
