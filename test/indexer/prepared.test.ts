// `serve` runs its reads as named prepared statements (indexer/store/prepared.ts).
import { expect } from "chai";
import { sql } from "kysely";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { dropTestDatabases, freshPostgresUrl, testBackends } from "./helpers";

describe("indexer serve: reads as prepared statements", function () {
  after(dropTestDatabases);
  let database: IndexerDatabase | undefined;
  afterEach(async () => database?.close());

  before(async function () {
    const postgres = (await testBackends()).find((b) => b.name === "postgres")!;
    if (postgres.skipReason) this.skip();
  });

  it("answers as unprepared, is prepared once per text, and survives a column added under a prepared read", async () => {
    database = await openDatabase({ databaseUrl: await freshPostgresUrl(), prepareSelects: true, poolSize: 1 });
    const db = database.db;
    await sql`CREATE TABLE t (a int4 NOT NULL)`.execute(db);
    await sql`INSERT INTO t VALUES (1), (2), (3)`.execute(db);
    const read = (a: number) => db.selectFrom("t").selectAll().where("a", ">=", a).orderBy("a").execute();
    expect(await read(2)).to.deep.equal([{ a: 2 }, { a: 3 }]);
    expect(await read(1)).to.deep.equal([{ a: 1 }, { a: 2 }, { a: 3 }]);
    // One connection (pool of 1): the text was prepared once, under one name.
    const prepared = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE ${'%"t"%'}`.execute(
      db,
    );
    expect(prepared.rows.map((r) => r.statement)).to.deep.equal(['select * from "t" where "a" >= $1 order by "a"']);
    // A migration adds a column: `select *` changes its result type, which a prepared plan refuses.
    await sql`ALTER TABLE t ADD COLUMN b int4 NOT NULL DEFAULT 7`.execute(db);
    expect(await read(3)).to.deep.equal([{ a: 3, b: 7 }]);
    expect(await read(3)).to.deep.equal([{ a: 3, b: 7 }]);
  });
});
