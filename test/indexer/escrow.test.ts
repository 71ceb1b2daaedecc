import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { escrowActivity } from "./escrowActivity";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const U = (whole: bigint) => (whole * 10n ** 6n).toString();

const ACCOUNT_FIELDS =
  "client epoch balance spendingLimit pendingSpendingLimit pendingLimitFromEpoch limitSet debitable withdrawalAmount withdrawableAt withdrawPayout deposited withdrawn debited";

describe("indexer escrow area: balances, spending limits and debits match ServiceEscrow", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: accounts, limits in force and pending, debits per epoch, client and node, over GraphQL`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(escrowActivity);
      const [c0, c1] = s.clients;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const account = async (client: string) =>
          (await gql(api.url, `{ escrowAccount(client: "${client.toLowerCase()}") { ${ACCOUNT_FIELDS} } }`)).data.escrowAccount;
        const withdrawableAt1 = Number((await s.escrow.accounts(c1.address)).withdrawableAt);

        // Literal expectations from the scenario (escrowActivity.ts), in USDC units.
        expect(Number(await s.registry.epoch())).to.equal(3);
        const a0 = await account(c0.address);
        expect(a0).to.deep.equal({
          client: c0.address,
          epoch: 3,
          balance: "0",
          spendingLimit: "0",
          pendingSpendingLimit: null,
          pendingLimitFromEpoch: null,
          limitSet: true,
          debitable: "0",
          withdrawalAmount: "0",
          withdrawableAt: 0,
          withdrawPayout: "0",
          deposited: U(300n),
          withdrawn: U(40n),
          debited: U(260n),
        });
        const a1 = await account(c1.address);
        expect(a1).to.deep.equal({
          client: c1.address,
          epoch: 3,
          balance: U(10n),
          spendingLimit: U(10n),
          pendingSpendingLimit: U(7n),
          pendingLimitFromEpoch: 4,
          limitSet: true,
          debitable: U(10n),
          withdrawalAmount: U(10n),
          withdrawableAt: withdrawableAt1,
          withdrawPayout: "0",
          deposited: U(50n),
          withdrawn: U(5n),
          debited: U(35n),
        });
        expect(withdrawableAt1).to.be.greaterThan(0);

        // The same through the escrow's own views.
        for (const a of [a0, a1]) {
          const stored = await s.escrow.accounts(a.client);
          expect([stored.balance, stored.withdrawalAmount, Number(stored.withdrawableAt)]).to.deep.equal([
            BigInt(a.balance),
            BigInt(a.withdrawalAmount),
            a.withdrawableAt,
          ]);
          expect(await s.escrow.spendingLimit(a.client, 3)).to.equal(BigInt(a.spendingLimit));
          expect(await s.escrow.spendingLimit(a.client, 4)).to.equal(BigInt(a.pendingSpendingLimit ?? a.spendingLimit));
          expect(await s.escrow.debitable([a.client], 3)).to.deep.equal([BigInt(a.debitable)]);
        }
        // An account the escrow never saw.
        expect((await gql(api.url, `{ escrowAccount(client: "${s.operators[0].address}") { client } }`)).data.escrowAccount).to.equal(null);

        // Debits of a client, oldest epoch first, paged one at a time.
        const seen: unknown[] = [];
        let after: string | null = null;
        do {
          const page: any = (
            await gql(
              api.url,
              `query($after: String) { escrowAccount(client: "${c0.address}") { debits(first: 1, after: $after) { nodes { epoch client amount balance } pageInfo { hasNextPage endCursor } } } }`,
              { after },
            )
          ).data.escrowAccount.debits;
          seen.push(...page.nodes);
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(seen).to.deep.equal([
          { epoch: 1, client: c0.address, amount: U(200n), balance: U(100n) },
          { epoch: 2, client: c0.address, amount: U(60n), balance: U(40n) },
        ]);

        // Epochs: totals, the 80/20 split, debits per client and revenue per node.
        const epochs = (
          await gql(
            api.url,
            "{ escrowEpochs { nodes { epoch total toNodes toBuyback revenueMatchesDebits debits { nodes { client amount } } nodes { nodes { nodeId owner revenue } } } pageInfo { hasNextPage } } }",
          )
        ).data.escrowEpochs;
        const byAddress = (x: { client: string }, y: { client: string }) => (BigInt(x.client) < BigInt(y.client) ? -1 : 1);
        const [n0, n1, n2] = s.nodes;
        expect(epochs).to.deep.equal({
          nodes: [
            {
              epoch: 2,
              total: U(65n),
              toNodes: U(52n),
              toBuyback: U(13n),
              revenueMatchesDebits: true,
              debits: {
                nodes: [
                  { client: c0.address, amount: U(60n) },
                  { client: c1.address, amount: U(5n) },
                ].sort(byAddress),
              },
              nodes: { nodes: [{ nodeId: n2.id, owner: n2.owner.address, revenue: U(65n) }] },
            },
            {
              epoch: 1,
              total: U(230n),
              toNodes: U(184n),
              toBuyback: U(46n),
              revenueMatchesDebits: true,
              debits: {
                nodes: [
                  { client: c0.address, amount: U(200n) },
                  { client: c1.address, amount: U(30n) },
                ].sort(byAddress),
              },
              nodes: {
                nodes: [
                  { nodeId: n0.id, owner: n0.owner.address, revenue: U(150n) },
                  { nodeId: n1.id, owner: n1.owner.address, revenue: U(80n) },
                ],
              },
            },
          ],
          pageInfo: { hasNextPage: false },
        });
        expect(await s.escrow.totalDebited()).to.equal(295n * 10n ** 6n);
        expect((await gql(api.url, "{ escrowEpoch(epoch: 3) { epoch } }")).data.escrowEpoch).to.equal(null);
        // EpochRewards received the nodes' share of each epoch.
        expect((await s.rewards.pools(1)).usdcPool).to.equal(184n * 10n ** 6n);

        // Accounts by balance, largest first, paged.
        const first = (await gql(api.url, "{ escrowAccounts(first: 1, orderBy: BALANCE) { nodes { client balance } pageInfo { hasNextPage endCursor } } }"))
          .data.escrowAccounts;
        expect(first.nodes).to.deep.equal([{ client: c1.address, balance: U(10n) }]);
        const second = (
          await gql(
            api.url,
            `{ escrowAccounts(first: 1, orderBy: BALANCE, after: "${first.pageInfo.endCursor}") { nodes { client balance } pageInfo { hasNextPage } } }`,
          )
        ).data.escrowAccounts;
        expect(second).to.deep.equal({ nodes: [{ client: c0.address, balance: "0" }], pageInfo: { hasNextPage: false } });

        // Bad input gets clear codes.
        const bad = async (q: string) => (await gql(api.url, q)).errors?.[0]?.extensions?.code;
        expect(await bad(`{ escrowAccount(client: "0x12") { client } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad("{ escrowEpochs(first: 5000) { nodes { epoch } } }")).to.equal("BAD_USER_INPUT");
        expect(await bad("{ escrowAccounts(first: 0) { nodes { client } } }")).to.equal("BAD_USER_INPUT");
        expect(await bad("{ escrowEpoch(epoch: -1) { epoch } }")).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ escrowAccounts(orderBy: BALANCE, after: "${first.pageInfo.endCursor}") { nodes { client } } }`)).to.equal(undefined);
        expect(await bad(`{ escrowAccounts(after: "${first.pageInfo.endCursor}") { nodes { client } } }`)).to.equal("BAD_USER_INPUT");
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
