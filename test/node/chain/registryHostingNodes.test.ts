/**
 * The hosting reader's proof sources (node/chain/registryHostingNodes.ts, docs/agents-runtime.md
 * "Hosting and take-over") against NodeRegistry on Hardhat: a reader started in an epoch, which
 * never saw the epoch before, still names the members of the previous epoch's committee (read from
 * its `CommitteeSelected` log) beside the current committee, as a reader that lived through the
 * change does. They closed the latest report, so they keep its snapshot proofs. After a skipped
 * epoch (no report) the committee that closed the latest report is the one before the skipped one.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { RegistryHostingNodes } from "../../../node/chain/registryHostingNodes";
import type { RpcProvider } from "../../../node/chain/registryCommittee";
import { ENDPOINTS, MIN_STAKE, emptyReport, registrySuite, submitReport, withActiveNodes, type RegistrySuite } from "../../../testkit/registry";

/** The hosting node registry node `id` is, as the spec writes it: its ed25519 key (hex, no 0x) and `http://host:gateway`. */
async function hostNode(s: RegistrySuite, id: bigint) {
  const view = await s.registry.getNode(id);
  return { nodeKey: view.nodeKey.slice(2).toLowerCase(), gatewayUrl: `http://${ENDPOINTS.host}:${ENDPOINTS.ports.gateway}` };
}

describe("RegistryHostingNodes: the committee before, for a node started in this epoch", function () {
  this.timeout(120_000);

  /** Committees of 2 drawn from 4 active nodes; reports until a member of the reported epoch's committee leaves it. */
  async function reportUntilCommitteeChanges() {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 2, MIN_STAKE);
    const nodes = await withActiveNodes(s, 4);
    let previous: bigint[] = [];
    let current = [...(await s.registry.committeeIds())];
    while (previous.length === 0 || previous.every((id) => current.includes(id))) {
      expect(await s.registry.epoch()).to.be.below(20n);
      await submitReport(s, nodes, await emptyReport(s));
      previous = current;
      current = [...(await s.registry.committeeIds())];
    }
    expect(previous.filter((id) => !current.includes(id)).length).to.be.greaterThan(0);
    const { chainId } = await hre.ethers.provider.getNetwork();
    const address = await s.registry.getAddress();
    const reader = (pollMs: number) => new RegistryHostingNodes(hre.ethers.provider as unknown as RpcProvider, chainId, address, pollMs);
    const hostNodes = (ids: bigint[]) => Promise.all(ids.map((id) => hostNode(s, id)));
    return { s, previous, current, reader, hostNodes };
  }

  it("names the previous epoch's committee, read from the chain at start, and the current one", async () => {
    const { previous, current, reader, hostNodes } = await reportUntilCommitteeChanges();
    // The committee before (it signed the latest report) as the chain's CommitteeSelected log named it, then the current one.
    expect(await reader(60_000).committees()).to.deep.equal({ closedLast: await hostNodes(previous), current: await hostNodes(current) });
  });

  it("after a skipped epoch, names the committee of the latest reported epoch, not the skipped epoch's, on a reader started since and on one that lived through it", async () => {
    const { s, previous, current: skipped, reader, hostNodes } = await reportUntilCommitteeChanges();
    const lived = reader(0); // re-reads at every call
    expect((await lived.committees()).closedLast).to.deep.equal(await hostNodes(previous));
    // The committee of this epoch never reports: past a whole epoch after the report opened, anyone skips it.
    await time.increaseTo((await s.registry.reportOpensAt()) + (await s.registry.epochDuration()));
    await expect(s.registry.advanceEpoch()).to.emit(s.registry, "EpochSkipped");
    // Members as the registry shows them now: a node the skip left not Active (2) is not asked.
    const active = async (ids: bigint[]) => {
      const status = await Promise.all(ids.map(async (id) => (await s.registry.getNode(id)).status));
      return hostNodes(ids.filter((_, i) => status[i] === 2n));
    };
    const expected = { closedLast: await active(previous), current: await active([...(await s.registry.committeeIds())]) };
    expect(expected.closedLast).to.not.deep.equal(await active(skipped));
    expect(await lived.committees()).to.deep.equal(expected);
    expect(await reader(60_000).committees()).to.deep.equal(expected);
  });
});
