/**
 * Issue 20, an agent's SQL is not a superuser's (node/agents/agentSqlRole.ts): PGlite runs
 * PostgreSQL as the bootstrap superuser with the agent's data folder mounted from the host at
 * `/pglite/data`, so without the unprivileged role an agent's `COPY ... TO '/pglite/data/…'`
 * wrote a host file outside its quota. A real `node run` process; each attempt from
 * `env.sql.query` must fail with a clear error, touch no host file, and leave the agent serving.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { planAgentNode, startAgentNode, type AgentNode } from "../../../testkit/agentNode";

const AGENTS = {
  sql: {
    config: {},
    bundle: `export default { async fetch(request, env) {
      const statement = await request.text();
      try { return Response.json({ rows: (await env.sql.query(statement)).rows }); }
      catch (e) { return Response.json({ error: e.message }); }
    } }`,
  },
};

describe("agents: SQL as an unprivileged role (issue 20)", function () {
  this.timeout(240_000);
  let node: AgentNode;
  let db: string;
  const sql = async (statement: string) => {
    const answer = await fetch(`${node.gatewayUrl}/agents/sql/`, { method: "POST", body: statement });
    const text = await answer.text();
    expect(answer.status, `${text}\n${node.stderr().slice(-3000)}`).to.equal(200);
    return JSON.parse(text) as { rows?: Record<string, unknown>[]; error?: string };
  };

  before(async () => {
    const plan = await planAgentNode();
    // A folder from before the role: made by the superuser, with a table, a row and a schema of its own.
    const config = JSON.parse(fs.readFileSync(plan.configFile, "utf8")) as { dataDir: string };
    db = path.join(path.resolve(path.dirname(plan.configFile), config.dataDir), "services", "agents", "agents", "sql", "db");
    fs.mkdirSync(path.dirname(db), { recursive: true });
    const old = await PGlite.create({ dataDir: db });
    await old.exec("create table notes (id serial primary key, body text not null); insert into notes (body) values ('from before'); create schema kept");
    await old.close();
    node = await startAgentNode(AGENTS, { plan, limits: { queryMs: 10_000 } });
  });
  after(async () => node?.stop());

  it("runs the agent's statements as fleek_agent, which owns the tables a superuser made before", async () => {
    expect(await sql("select current_user, session_user")).to.deep.equal({ rows: [{ current_user: "fleek_agent", session_user: "fleek_agent" }] });
    expect(await sql("insert into notes (body) values ('after') returning id")).to.deep.equal({ rows: [{ id: 2 }] });
    expect(await sql("alter table notes add column at int")).to.deep.equal({ rows: [] });
    expect(await sql("create table mine (x int)")).to.deep.equal({ rows: [] });
    expect(await sql("create table kept.also (x int)")).to.deep.equal({ rows: [] });
    expect(await sql("select body from notes order by id")).to.deep.equal({ rows: [{ body: "from before" }, { body: "after" }] });
  });

  it("refuses what reads or writes files, changes the server or makes roles, and no host file appears", async () => {
    const attempts: [string, string][] = [
      ["copy (select 'x') to '/pglite/data/escaped.txt'", "permission denied to COPY to a file"],
      ["copy notes from '/pglite/data/PG_VERSION'", "permission denied to COPY from a file"],
      ["copy notes from program 'echo hi'", "permission denied to COPY to or from an external program"],
      ["select pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"],
      ["select pg_read_binary_file('postgresql.conf')", "permission denied for function pg_read_binary_file"],
      ["select pg_ls_dir('.')", "permission denied for function pg_ls_dir"],
      ["select pg_stat_file('PG_VERSION')", "permission denied for function pg_stat_file"],
      ["select lo_import('/etc/passwd')", "permission denied for function lo_import"],
      ["select lo_export(lo_from_bytea(0, 'x'), '/pglite/data/lo.txt')", "permission denied for function lo_export"],
      ["create tablespace ts location '/pglite/data'", 'permission denied to create tablespace "ts"'],
      ["alter system set shared_buffers = '4GB'", 'permission denied to set parameter "shared_buffers"'],
      ["load 'plpgsql'", 'access to library "plpgsql" is not allowed'],
      ["checkpoint", "permission denied to execute CHECKPOINT command"],
      ["select pg_reload_conf()", "permission denied for function pg_reload_conf"],
      ["create role intruder superuser", "permission denied to create role"],
      ["alter role fleek_agent superuser", "permission denied to alter role"],
      ["grant pg_write_server_files to fleek_agent", 'permission denied to grant role "pg_write_server_files"'],
      ["create database other", "permission denied to create database"],
      ["select count(*) from pg_authid", "permission denied for table pg_authid"],
    ];
    for (const [statement, error] of attempts) expect(await sql(statement), statement).to.deep.equal({ error });
    const files = fs.readdirSync(db);
    expect(files).to.not.include("escaped.txt");
    expect(files).to.not.include("lo.txt");
    expect(fs.readFileSync(path.join(db, "postgresql.auto.conf"), "utf8")).to.not.include("shared_buffers");
  });

  it("cannot leave the role: RESET/SET ROLE, session authorization, DISCARD, set_config, functions and DO blocks", async () => {
    expect(await sql("reset role")).to.deep.equal({ rows: [] });
    expect(await sql("set role none")).to.deep.equal({ rows: [] });
    expect(await sql("set role postgres")).to.deep.equal({ error: 'permission denied to set role "postgres"' });
    const guard =
      "statements naming session authorization, DISCARD or U& escapes are refused (the agent's SQL runs as an unprivileged role it may not leave); pass such text as a parameter";
    for (const statement of [
      "reset session authorization",
      "set session authorization postgres",
      "SET SESSION /* */ AUTHORIZATION DEFAULT",
      'set "session_authorization" = postgres',
      "discard all",
      "select set_config(U&'session\\005Fauthorization', 'postgres', false)",
      "select 1; reset session authorization",
    ])
      expect(await sql(statement), statement).to.deep.equal({ error: guard });
    expect(await sql("select set_config('role', 'postgres', false)")).to.deep.equal({ error: "permission denied for function set_config" });
    expect(await sql("update pg_settings set setting = 'postgres' where name = 'role'")).to.deep.equal({ error: "permission denied for function set_config" });
    expect(await sql("do $$ begin reset role; end $$")).to.deep.equal({ error: "permission denied for language plpgsql" });
    expect(await sql("create function f() returns int language sql as 'select 1'")).to.deep.equal({ error: "permission denied for language sql" });
    // Still the agent's role, still serving, and the file it was refused is not there.
    expect(await sql("select current_user, session_user")).to.deep.equal({ rows: [{ current_user: "fleek_agent", session_user: "fleek_agent" }] });
    expect(await sql("copy (select 'x') to '/pglite/data/escaped.txt'")).to.deep.equal({ error: "permission denied to COPY to a file" });
    expect(fs.existsSync(path.join(db, "escaped.txt"))).to.equal(false);
    // A value with one of the words goes in as a parameter.
    expect(await sql("select count(*)::int as n from notes")).to.deep.equal({ rows: [{ n: 2 }] });
  });

  it("keeps the role after a restart (the session is made unprivileged at every open)", async () => {
    await node.restart();
    expect(await sql("select current_user, session_user")).to.deep.equal({ rows: [{ current_user: "fleek_agent", session_user: "fleek_agent" }] });
    expect(await sql("select body from notes order by id")).to.deep.equal({ rows: [{ body: "from before" }, { body: "after" }] });
  });
});
