import { CamelCasePlugin, type Kysely } from "kysely";
import type { Database } from "../derive";

/** A row of `table` as the API's handle returns it (camelCase columns, numeric as a decimal string). */
export type Row<T extends keyof Database> = Database[T];

/** The engine's handle (any database type) or an API handle. */
export type Handle = Kysely<unknown> | Kysely<Database>;

/** Raw handle → its API handle, so each raw handle gets one. */
const handles = new WeakMap<Handle, Kysely<Database>>();
const apiHandles = new WeakSet<Handle>();

/**
 * The API's handle on the indexer's database: column names in camelCase both ways, so resolvers
 * return rows as they come; jsonb values keep their own keys (they are answers as stored). Given
 * an API handle, returns it: the supply functions take either (the engine's tests pass the raw one).
 */
export function apiDatabase(db: Handle): Kysely<Database> {
  if (apiHandles.has(db)) return db as Kysely<Database>;
  let api = handles.get(db);
  if (!api) {
    api = (db as Kysely<unknown>).withPlugin(new CamelCasePlugin({ maintainNestedObjectKeys: true })) as unknown as Kysely<Database>;
    handles.set(db, api);
    apiHandles.add(api);
  }
  return api;
}
