import { expect } from "chai";
import hre from "hardhat";
import { sql } from "kysely";
import { getIntrospectionQuery } from "graphql";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { scriptedActivity } from "./activity";
import { dropTestDatabases, freshPostgresUrl, newEngine, testBackends } from "./helpers";

async function deployedWithActivity(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  return suite;
}

async function gql(api: ApiServer, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${api.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

function codes(result: { errors?: { extensions?: { code?: string } }[] }) {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

describe("indexer GraphQL API", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    describe(name, function () {
      let suite: Suite;
      let database: IndexerDatabase;
      // On PostgreSQL the API reads through its own handle, opened as `indexer serve` opens it.
      let serving: IndexerDatabase | undefined;
      let api: ApiServer;

      before(async function () {
        const backend = (await testBackends()).find((b) => b.name === name)!;
        if (!backend.fresh) return this.skip();
        suite = await loadFixture(deployedWithActivity);
        database = await backend.fresh();
        await (await newEngine(database, suite)).syncToHead();
        if (database.url) serving = await openDatabase({ databaseUrl: database.url, prepareSelects: true, pipeline: true, statementTimeoutMs: 5_000 });
        api = await startApiServer({ database: serving ?? database, port: 0 });
      });
      after(async () => {
        await api?.close();
        await serving?.close();
        await database?.close();
      });

      it("serves the supply breakdown equal to the contracts' views", async () => {
        const head = (await hre.ethers.provider.getBlock("latest"))!;
        const { data, errors } = await gql(api, `{ tokenSupply { timestamp total minted burned emitted lockedInVesting circulating staked curveReserves } }`);
        expect(errors).to.equal(undefined);
        const s = data.tokenSupply;
        expect(s.timestamp).to.equal(head.timestamp);
        expect(BigInt(s.total)).to.equal(await suite.flk.totalSupply());
        expect(BigInt(s.minted)).to.equal(await suite.flk.totalMinted());
        expect(BigInt(s.emitted)).to.equal(await suite.emission.minted());
        expect(BigInt(s.lockedInVesting)).to.equal(await suite.vesting.lockedAt(head.timestamp));
        expect(BigInt(s.circulating)).to.equal(BigInt(s.total) - BigInt(s.lockedInVesting));
        expect(s.staked).to.equal("0");
        // The scripted activity burns 123 FLK + 456 wei, then 1 wei; nothing is minted to the market.
        expect(s.burned).to.equal((123n * 10n ** 18n + 457n).toString());
        expect(BigInt(s.burned)).to.equal((await suite.flk.totalMinted()) - (await suite.flk.totalSupply()));
        expect(s.curveReserves).to.equal("0");
        expect(await suite.flk.balanceOf(await suite.creatorMarket.getAddress())).to.equal(0n);
        const start = Number(await suite.vesting.start());
        const tge = await gql(api, `query($at: Int) { tokenSupply(at: $at) { circulating } }`, { at: start });
        expect(tge.data.tokenSupply.circulating).to.equal((28_000_000n * 10n ** 18n).toString());
      });

      it("pages through holders by balance with cursors, matching balanceOf", async () => {
        const seen: { address: string; balance: string }[] = [];
        let after: string | null = null;
        for (;;) {
          const r: any = await gql(
            api,
            `query($after: String) { accounts(first: 3, after: $after, orderBy: BALANCE, orderDirection: DESC, where: { balance_gt: "0" }) { nodes { address balance } pageInfo { hasNextPage endCursor } } }`,
            { after },
          );
          expect(r.errors).to.equal(undefined);
          seen.push(...r.data.accounts.nodes);
          if (!r.data.accounts.pageInfo.hasNextPage) break;
          after = r.data.accounts.pageInfo.endCursor;
        }
        const stats = await gql(api, `{ tokenStats { holders } }`);
        expect(seen.length).to.equal(stats.data.tokenStats.holders);
        for (let i = 1; i < seen.length; i++) expect(BigInt(seen[i - 1].balance) >= BigInt(seen[i].balance)).to.equal(true);
        for (const a of seen) expect(BigInt(a.balance)).to.equal(await suite.flk.balanceOf(a.address));
      });

      it("serves vesting schedules with vested amounts and a calendar, burns and emission", async () => {
        const beneficiary = suite.genesis.team.beneficiaries[0];
        const t = Number(await suite.vesting.start()) + 400 * 86400;
        const r = await gql(
          api,
          `query($b: String, $t: Int) { vestingSchedules(where: { beneficiary: $b }) { nodes { id amount released vested(at: $t) unlockCalendar(months: 3) { amount } } } }`,
          { b: beneficiary.toLowerCase(), t },
        );
        expect(r.errors).to.equal(undefined);
        const [s] = r.data.vestingSchedules.nodes;
        expect(BigInt(s.vested)).to.equal(await suite.vesting.vestedAmount(s.id, t));
        expect(BigInt(s.released)).to.equal(await suite.vesting.released(s.id));
        expect(s.unlockCalendar).to.have.length(3);

        const burns = await gql(api, `{ burns { nodes { from value } } }`);
        expect(burns.data.burns.nodes.map((b: any) => b.value)).to.deep.equal(["123000000000000000456", "1"]);
        const e = await gql(api, `{ emission { minted mints mintable } emissionMints(orderDirection: DESC, first: 1) { nodes { totalMinted } } }`);
        expect(BigInt(e.data.emission.minted)).to.equal(await suite.emission.minted());
        expect(e.data.emissionMints.nodes[0].totalMinted).to.equal(e.data.emission.minted);

        const h = await (await fetch(`${api.url}/health`)).json();
        expect(h.indexedBlock).to.equal(await hre.ethers.provider.getBlockNumber());
        expect(h.lagBlocks).to.equal(0);
      });

      it("rejects abusive queries with clear codes", async () => {
        const deep = `{ vestingSchedules { nodes { unlockCalendar { amount } } } }`;
        expect(codes(await gql(api, deep))).to.deep.equal([]);
        expect(codes(await gql(api, getIntrospectionQuery()))).to.deep.equal([]);
        const depthBomb = await gql(api, `{ __schema { types { fields { type { ${"ofType { ".repeat(30)}name${" }".repeat(30)} } } } } }`);
        expect(codes(depthBomb)).to.include("QUERY_TOO_COMPLEX");
        const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: tokenStats { holders }`).join(" ");
        expect(codes(await gql(api, `{ ${aliases} }`))).to.include("QUERY_TOO_COMPLEX");
        expect(codes(await gql(api, `{ accounts(first: 1000000) { nodes { address } } }`))).to.deep.equal(["QUERY_TOO_COMPLEX"]);
        const huge = await gql(api, `{ accounts(first: 5000) { nodes { address } } }`);
        expect(codes(huge)).to.deep.equal(["BAD_USER_INPUT"]);
        expect(huge.errors![0].message).to.match(/between 1 and 1000/);
        expect(codes(await gql(api, `{ accounts(first: 0) { nodes { address } } }`))).to.deep.equal(["BAD_USER_INPUT"]);
        expect(codes(await gql(api, `{ accounts(after: "not-a-cursor") { nodes { address } } }`))).to.deep.equal(["BAD_USER_INPUT"]);
        const page = await gql(api, `{ accounts(first: 1) { pageInfo { endCursor } } }`);
        const cursor = page.data.accounts.pageInfo.endCursor;
        const other = await gql(api, `query($c: String) { accounts(after: $c, orderBy: BALANCE) { nodes { address } } }`, { c: cursor });
        expect(codes(other)).to.deep.equal(["BAD_USER_INPUT"]);
        const forged = Buffer.from(JSON.stringify(["balance:a", "abc", "x"])).toString("base64url");
        expect(codes(await gql(api, `query($c: String) { accounts(after: $c, orderBy: BALANCE) { nodes { address } } }`, { c: forged }))).to.deep.equal([
          "BAD_USER_INPUT",
        ]);
        expect(codes(await gql(api, `{ account(address: "0x123") { balance } }`))).to.deep.equal(["BAD_USER_INPUT"]);
        expect(codes(await gql(api, `{ vestingUnlockCalendar(months: 100000) { amount } }`))).to.deep.equal(["BAD_USER_INPUT"]);
        const tokens = "{ " + Array.from({ length: 2500 }, () => "__typename").join(" ") + " }";
        expect(codes(await gql(api, tokens))).to.include("QUERY_TOO_COMPLEX");
        // The server still answers after all of that.
        expect((await gql(api, `{ tokenStats { holders } }`)).errors).to.equal(undefined);
      });
    });
  }

  it("postgres: the serve pool cancels a statement past its timeout (mapped to QUERY_TIMEOUT)", async function () {
    const backend = (await testBackends()).find((b) => b.name === "postgres")!;
    if (!backend.fresh) return this.skip();
    const database = await openDatabase({ databaseUrl: await freshPostgresUrl(), statementTimeoutMs: 50, prepareSelects: true, pipeline: true });
    try {
      const error = await sql`SELECT pg_sleep(1)`.execute(database.db).then(
        () => undefined,
        (e) => e,
      );
      expect(error?.code).to.equal("57014");
      const { maskError } = await import("../../indexer/api/errors");
      expect(maskError(error, false).extensions.code).to.equal("QUERY_TIMEOUT");
    } finally {
      await database.close();
    }
  });
});
