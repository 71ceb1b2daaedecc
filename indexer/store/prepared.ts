import type pg from "pg";

/** Statement texts named at most; past it, new texts run unnamed (each name holds a plan per connection). */
const MAX_NAMED = 500;

/** SQLSTATE 0A000: "cached plan must not change result type" (a `SELECT *` whose table changed). */
const FEATURE_NOT_SUPPORTED = "0A000";

/**
 * Runs the reads (SELECT) of `pool`'s clients as named prepared statements: PostgreSQL parses and
 * plans each text once per connection instead of on every request, which was about half of its
 * CPU per API request (bench/indexer without the answer cache). The API's texts are few (one per
 * query shape; values are parameters). A read prepared before a migration changed its table's
 * columns is prepared again under a new name.
 */
export function prepareSelects(pool: { on(event: "connect", listener: (client: pg.Client) => void): unknown }): void {
  const names = new Map<string, string>();
  let next = 0;
  const rename = (text: string) => {
    const name = `api_${next++}`;
    names.set(text, name);
    return name;
  };
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult>;
    client.query = ((text: unknown, ...rest: unknown[]) => {
      const values = rest[0];
      if (rest.length !== 1 || typeof text !== "string" || !Array.isArray(values) || !/^select /i.test(text)) return query(text, ...rest);
      const name = names.get(text) ?? (names.size < MAX_NAMED ? rename(text) : undefined);
      if (name === undefined) return query(text, values);
      return query({ name, text, values }).catch((err: { code?: string }) => {
        if (err.code !== FEATURE_NOT_SUPPORTED) throw err;
        return query({ name: names.get(text) === name ? rename(text) : names.get(text), text, values });
      });
    }) as typeof client.query;
  });
}
