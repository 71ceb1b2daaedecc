import { sql, type SelectQueryBuilder } from "kysely";
import { badInput } from "./errors";

/** Page size when `first` is not given. */
export const DEFAULT_PAGE = 50;
/** Largest page a client may ask for. */
export const MAX_PAGE = 1000;

/** Cursor-pagination arguments common to every list. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  orderDirection?: "ASC" | "DESC" | null;
}

/**
 * A list's ordering: its name (in the cursor) and its columns, camelCase, each a key of the rows,
 * qualified by a table alias in a join (the API handle's CamelCasePlugin turns them into the
 * table's snake_case columns).
 */
export interface Ordering<T> {
  name: string;
  columns: readonly ((keyof T & string) | `${string}.${keyof T & string}`)[];
}

/** A page of a list, Relay-style. */
export interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Keyset pagination over `columns` (the ordering plus a unique tiebreaker, matching an index):
 * the cursor holds the last row's values of those columns, tagged with the ordering so a cursor
 * from another ordering is refused. Fetches one row more than asked to learn whether a next page
 * exists.
 */
export async function paginate<DB, TB extends keyof DB, T extends Record<string, unknown>>(
  query: SelectQueryBuilder<DB, TB, T>,
  ordering: Ordering<T>,
  args: PageArgs,
): Promise<Connection<T>> {
  const first = args.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE} (got ${first})`);
  const desc = args.orderDirection === "DESC";
  const tag = `${ordering.name}:${desc ? "d" : "a"}`;
  const refs = sql.join(ordering.columns.map((c) => sql.ref(c)));
  if (args.after) {
    const values = decodeCursor(args.after, tag, ordering.columns.length);
    query = query.where(sql<boolean>`(${refs}) ${sql.raw(desc ? "<" : ">")} (${sql.join(values)})`);
  }
  for (const c of ordering.columns) query = query.orderBy(sql.ref(c), desc ? "desc" : "asc");
  const rows = await query.limit(first + 1).execute();
  const nodes = rows.slice(0, first);
  const last = nodes[nodes.length - 1];
  return {
    nodes,
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: last
        ? encodeCursor(
            tag,
            ordering.columns.map((c) => last[c.slice(c.indexOf(".") + 1)]),
          )
        : null,
    },
  };
}

function encodeCursor(tag: string, values: unknown[]): string {
  return Buffer.from(JSON.stringify([tag, ...values.map((v) => (v == null ? null : String(v)))])).toString("base64url");
}

function decodeCursor(cursor: string, tag: string, arity: number): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badInput("invalid cursor: pass an endCursor this API returned");
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 || !parsed.every((v) => typeof v === "string")) {
    throw badInput("invalid cursor: pass an endCursor this API returned");
  }
  if (parsed[0] !== tag) throw badInput(`cursor belongs to another ordering (${parsed[0]}, not ${tag})`);
  return parsed.slice(1) as string[];
}
