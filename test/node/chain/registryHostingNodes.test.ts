/**
 * The hosting reader's proof sources (node/chain/registryHostingNodes.ts, docs/agents-runtime.md
 * "Hosting and take-over") against NodeRegistry on Hardhat: a reader started in an epoch, which
 * never saw the epoch before, still names the members of the previous epoch's committee (read from
 * its `CommitteeSelected` log) beside the current committee, as a reader that lived through the
 * change does. They closed the latest report, so they keep its snapshot proofs.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
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

  it("names the previous epoch's committee, read from the chain at start, and the current one", async () => {
    const s = await loadFixture(registrySuite);
    // Committees of 2 drawn from 4 active nodes: epoch changes until a member leaves the committee.
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
    const gone = previous.filter((id) => !current.includes(id));
    expect(gone.length).to.be.greaterThan(0);

    const { chainId } = await hre.ethers.provider.getNetwork();
    const reader = new RegistryHostingNodes(hre.ethers.provider as unknown as RpcProvider, chainId, await s.registry.getAddress(), 60_000);
    // The committee before (it signed the latest report) as the chain's CommitteeSelected log named it, then the current one.
    const [closedLast, now] = await Promise.all([previous, current].map((ids) => Promise.all(ids.map((id) => hostNode(s, id)))));
    expect(await reader.committees()).to.deep.equal({ closedLast, current: now });
  });
});
