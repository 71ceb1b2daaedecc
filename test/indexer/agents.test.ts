import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { deploySuite, timelockSigner, type Suite } from "../../testkit/deploy";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;
const R3 = `0x${"3b".repeat(32)}`;

interface AgentsScenario extends Suite {
  alice: string;
  bob: string;
  settler: string;
  /** The registry's epoch during the scenario: every price applies from the next one. */
  epoch: number;
}

/**
 * On the suite's marketplace: Alice registers agent 1 (R1/R2, 256 MiB, 0.01 USDC a call), publishes
 * version 2 (R3/R2), raises the price to 0.02 USDC in the same epoch and pauses it; Bob registers
 * agent 2 (1 unit a call). Governance sets the split to 10/70/20, hosting prices 8,000 per GiB-hour
 * and 2,000 per 1k tokens, and a settler in place of the escrow. Epoch 7 settles 600,000 and
 * 400,000 units for agent 1 (two nodes) and 333 for agent 2; Bob withdraws; epoch 8 settles 1,000
 * for agent 2.
 */
async function agentsScenario(): Promise<AgentsScenario> {
  const s = await deploySuite();
  const [alice, bob, settler] = (await hre.ethers.getSigners()).slice(10, 13);
  const m = s.agentMarketplace;
  const epoch = Number(await s.registry.epoch());
  await m.connect(alice).register("Research assistant", R1, R2, 256, 10_000);
  await m.connect(alice).publish(1, R3, R2);
  await m.connect(bob).register("b", R2, R3, 128, 1);
  await m.connect(alice).setPrice(1, 20_000, 0);
  await m.connect(alice).setPaused(1, true);
  const admin = await timelockSigner(s);
  await m.connect(admin).setSplit(1_000, 7_000, 2_000);
  await m.connect(admin).setHostingPrices(8_000, 2_000);
  await m.connect(admin).setSettlement(settler.address, s.buyback);
  await s.usdc.mint(settler.address, 10_000_000n);
  await s.usdc.connect(settler).approve(await m.getAddress(), hre.ethers.MaxUint256);
  await m.connect(settler).settle(7, [1, 2, 1], [600_000, 333, 400_000]);
  await m.connect(bob).withdraw();
  await m.connect(settler).settle(8, [2], [1_000]);
  return { ...s, alice: alice.address, bob: bob.address, settler: settler.address, epoch };
}

const AGENT_FIELDS = "id name owner version configRoot bundleRoot memoryMiB paused revenue toNodes toOwner toProtocol";

describe("indexer agents area: AgentMarketplace's agents, prices, settlements and owners' revenue", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: agents, versions, price history and the price of an epoch, settlements, owners and the buyback's share over GraphQL`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(agentsScenario);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const q = async (query: string) => {
          const answer = await gql(api.url, query);
          expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
          return answer.data;
        };

        // Agent 1: 1,000,000 units at 10/70/20; agent 2: 333 (owner 233, fee 66, nodes the rest 34) then 1,000.
        const one = {
          id: 1,
          name: "Research assistant",
          owner: s.alice,
          version: 2,
          configRoot: R3,
          bundleRoot: R2,
          memoryMiB: 256,
          paused: true,
          revenue: "1000000",
          toNodes: "100000",
          toOwner: "700000",
          toProtocol: "200000",
        };
        const two = {
          id: 2,
          name: "b",
          owner: s.bob,
          version: 1,
          configRoot: R2,
          bundleRoot: R3,
          memoryMiB: 128,
          paused: false,
          revenue: "1333",
          toNodes: "134",
          toOwner: "933",
          toProtocol: "266",
        };
        expect((await q(`{ agents { nodes { ${AGENT_FIELDS} } pageInfo { hasNextPage } } }`)).agents).to.deep.equal({
          nodes: [one, two],
          pageInfo: { hasNextPage: false },
        });
        expect((await q(`{ agents(where: { paused: false }) { nodes { id } } }`)).agents.nodes).to.deep.equal([{ id: 2 }]);
        expect((await q(`{ agents(where: { owner: "${s.alice.toLowerCase()}" }) { nodes { id } } }`)).agents.nodes).to.deep.equal([{ id: 1 }]);
        const page = (await q(`{ agents(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } }`)).agents;
        expect(page.nodes).to.deep.equal([{ id: 1 }]);
        expect((await q(`{ agents(first: 1, after: "${page.pageInfo.endCursor}") { nodes { id } } }`)).agents.nodes).to.deep.equal([{ id: 2 }]);
        expect((await q(`{ agent(id: 3) { id } }`)).agent).to.equal(null);

        // Versions, and prices: both set in the registration epoch, so both from the next; the later one wins.
        const next = s.epoch + 1;
        const a1 = (
          await q(`{ agent(id: 1) {
            versions { nodes { version configRoot bundleRoot } }
            priceHistory { nodes { price token tokenPrice fromEpoch } }
            price { price fromEpoch }
            before: priceAt(epoch: ${s.epoch}) { price }
            during: priceAt(epoch: ${next}) { price token }
            revenueByEpoch { nodes { epoch owner entries amount toNodes toOwner toProtocol } }
          } }`)
        ).agent;
        expect(a1.versions.nodes).to.deep.equal([
          { version: 1, configRoot: R1, bundleRoot: R2 },
          { version: 2, configRoot: R3, bundleRoot: R2 },
        ]);
        expect(a1.priceHistory.nodes).to.deep.equal([
          { price: "10000", token: null, tokenPrice: "0", fromEpoch: next },
          { price: "20000", token: null, tokenPrice: "0", fromEpoch: next },
        ]);
        expect(a1.price).to.deep.equal({ price: "20000", fromEpoch: next });
        expect(a1.before).to.equal(null);
        expect(a1.during).to.deep.equal({ price: "20000", token: null });
        // The contract agrees.
        expect((await s.agentMarketplace.priceAt(1, next))[0]).to.equal(20_000n);
        expect(a1.revenueByEpoch.nodes).to.deep.equal([
          { epoch: 7, owner: s.alice, entries: 2, amount: "1000000", toNodes: "100000", toOwner: "700000", toProtocol: "200000" },
        ]);

        // Settlements, newest first; an epoch's agents.
        const settlements = (await q(`{ agentSettlements { nodes { epoch entries amount toNodes toOwners toProtocol } } }`)).agentSettlements.nodes;
        expect(settlements).to.deep.equal([
          { epoch: 8, entries: 1, amount: "1000", toNodes: "100", toOwners: "700", toProtocol: "200" },
          { epoch: 7, entries: 3, amount: "1000333", toNodes: "100034", toOwners: "700233", toProtocol: "200066" },
        ]);
        expect((await q(`{ agentSettlement(epoch: 7) { agents { nodes { agentId entries amount } } } }`)).agentSettlement.agents.nodes).to.deep.equal([
          { agentId: 1, entries: 2, amount: "1000000" },
          { agentId: 2, entries: 1, amount: "333" },
        ]);
        expect((await q(`{ agentSettlement(epoch: 9) { epoch } }`)).agentSettlement).to.equal(null);

        // The marketplace: parameters, totals and its contribution to burns (what BuybackBurner received).
        const market = (
          await q(`{ agentMarket { escrow buyback split { nodeBps ownerBps protocolBps } pricePerGiBHour pricePer1kTokens
            agentCount epochsSettled revenue toNodes toOwners toProtocol withdrawn } }`)
        ).agentMarket;
        expect(market).to.deep.equal({
          escrow: s.settler,
          buyback: await s.buyback.getAddress(),
          split: { nodeBps: 1_000, ownerBps: 7_000, protocolBps: 2_000 },
          pricePerGiBHour: "8000",
          pricePer1kTokens: "2000",
          agentCount: 2,
          epochsSettled: 2,
          revenue: "1001333",
          toNodes: "100134",
          toOwners: "700933",
          toProtocol: "200266",
          withdrawn: "233",
        });
        expect(await s.agentMarketplace.totalProtocolFees()).to.equal(200_266n);
        expect(await s.buyback.pot()).to.equal(200_266n);
        expect((await q(`{ agentSplitHistory { nodes { nodeBps ownerBps protocolBps } } }`)).agentSplitHistory.nodes).to.deep.equal([
          { nodeBps: 1_000, ownerBps: 7_000, protocolBps: 2_000 },
          { nodeBps: 2_000, ownerBps: 7_000, protocolBps: 1_000 },
        ]);

        // Owners: Bob withdrew epoch 7's 233 and has epoch 8's 700 to withdraw, as the contract says.
        expect(
          (await q(`{ agentOwner(owner: "${s.bob}") { owner credited withdrawn balance withdrawals { nodes { owner amount } } } }`)).agentOwner,
        ).to.deep.equal({ owner: s.bob, credited: "933", withdrawn: "233", balance: "700", withdrawals: { nodes: [{ owner: s.bob, amount: "233" }] } });
        expect(await s.agentMarketplace.balanceOf(s.bob)).to.equal(700n);
        expect((await q(`{ agentOwner(owner: "${s.alice}") { balance } }`)).agentOwner).to.deep.equal({ balance: "700000" });
        expect((await q(`{ agentOwner(owner: "${s.settler}") { balance } }`)).agentOwner).to.equal(null);

        // Bad input gets clear codes.
        const bad = async (query: string) => (await gql(api.url, query)).errors?.[0]?.extensions?.code;
        expect(await bad(`{ agent(id: -1) { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agent(id: 1) { priceAt(epoch: -1) { price } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agents(where: { owner: "0x12" }) { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agents(first: 5000) { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agentSettlements(after: "${page.pageInfo.endCursor}") { nodes { epoch } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agentSettlement(epoch: -1) { epoch } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ agentOwner(owner: "alice") { balance } }`)).to.equal("BAD_USER_INPUT");
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
