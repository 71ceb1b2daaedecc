/**
 * Agents' SQL runs as an unprivileged role (docs/agents-runtime.md "Store: the agent's SQL is not
 * a superuser's"). PGlite runs PostgreSQL in single-user mode, whose session is always the bootstrap
 * superuser, and its data folder is the host's folder mounted into the WebAssembly file system: as
 * that superuser an agent's `COPY ... TO '/pglite/data/…'` writes host files outside the storage
 * quota, `ALTER SYSTEM` rewrites the server's configuration, `pg_read_file`/`lo_import` read files.
 * So each open makes the session `fleek_agent` with `SET SESSION AUTHORIZATION` (not `SET ROLE`,
 * which `RESET ROLE` undoes: with the session user unprivileged, `SET ROLE postgres` is refused).
 * The way back, `SET/RESET SESSION AUTHORIZATION` and `DISCARD ALL`, is allowed by PostgreSQL to a
 * session that authenticated as a superuser, so {@link agentSqlRefusal} refuses statements that
 * could name it, and the role may neither call `set_config` nor create functions or DO blocks (a
 * function body could run the same statements out of the check's sight).
 */

/** The role agents' SQL runs as. */
export const AGENT_ROLE = "fleek_agent";

/**
 * Run as the superuser at every open, before the session becomes {@link AGENT_ROLE}: creates the
 * role, takes back any privilege a restored folder may have given it (a snapshot is another node's
 * folder), gives it the objects its database has (folders from before the role were the
 * superuser's), and revokes what would let it escape.
 */
export const AGENT_ROLE_SETUP = `
do $$ declare r record; begin
  if not exists (select from pg_roles where rolname = '${AGENT_ROLE}') then create role ${AGENT_ROLE}; end if;
  alter role ${AGENT_ROLE} nosuperuser nocreaterole nocreatedb noreplication nobypassrls;
  for r in select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles a on a.oid = m.member
           where a.rolname = '${AGENT_ROLE}' loop
    execute format('revoke %I from ${AGENT_ROLE}', r.rolname);
  end loop;
  for r in select c.oid::regclass as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relowner = 10 and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
             and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
             -- A serial's or identity's sequence goes with its table.
             and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')) loop
    execute format('alter table %s owner to ${AGENT_ROLE}', r.name);
  end loop;
  for r in select nspname from pg_namespace where nspowner = 10 and nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public') loop
    execute format('alter schema %I owner to ${AGENT_ROLE}', r.nspname);
  end loop;
end $$;
grant create, temporary on database postgres to ${AGENT_ROLE};
grant all on schema public to ${AGENT_ROLE};
revoke usage on language sql, plpgsql from public;
revoke execute on function pg_catalog.set_config(text, text, boolean) from public;
set session authorization ${AGENT_ROLE};`;

/**
 * Words a statement that could give the session back its superuser would contain:
 * `SESSION AUTHORIZATION` / `session_authorization`, `DISCARD ALL`, and `U&` (a Unicode-escaped
 * identifier or string could spell either). Conservative: a literal with one of them is refused
 * too (a parameter is not).
 */
const ESCAPES = /authorization|\bdiscard\b|u&/i;

/** Why an agent's SQL statement is refused before it runs, or undefined. */
export function agentSqlRefusal(sql: string): string | undefined {
  return ESCAPES.test(sql)
    ? "statements naming session authorization, DISCARD or U& escapes are refused (the agent's SQL runs as an unprivileged role it may not leave); pass such text as a parameter"
    : undefined;
}
