import { GraphQLScalarType, Kind } from "graphql";
import { getAddress, isAddress } from "ethers";
import type { Kysely } from "kysely";
import type { Database } from "../derive";
import { apiError, badInput } from "./errors";
import { readSyncState, type SyncState } from "../store/syncState";
import type { SyncStateWatcher } from "./stateWatcher";

export type { Row } from "./apiDatabase";

/** What every resolver receives. */
export interface ApiContext {
  db: Kysely<Database>;
  /** The sync cursor, read once per request (health and "now" share it). */
  syncState(): Promise<SyncState | undefined>;
  /** The latest indexed block's timestamp: "now" for time arguments. */
  now(): Promise<number>;
}

/**
 * A request context over `db` (from `apiDatabase`); the sync state comes from `watcher` while
 * it knows it, else from `raw` (the handle without the plugin, which the engine's reader expects).
 */
export function createContext(db: Kysely<Database>, raw: Kysely<unknown>, watcher?: SyncStateWatcher): ApiContext {
  let state: Promise<SyncState | undefined> | undefined;
  const syncState = () => {
    const known = watcher?.current();
    return (state ??= known ? Promise.resolve(known.state) : readSyncState(raw));
  };
  return {
    db,
    syncState,
    now: () =>
      syncState().then((s) => {
        if (s?.cursorTimestamp == null) throw apiError("NOT_INDEXED", "nothing is indexed yet");
        return s.cursorTimestamp;
      }),
  };
}

/** A schema piece: type definitions plus resolvers. Each area contributes one. */
export interface SchemaPart {
  typeDefs: string;
  resolvers: Record<string, Record<string, unknown> | GraphQLScalarType>;
}

/** An unsigned integer of any size (wei amounts) as a decimal string. */
export const BigIntScalar = new GraphQLScalarType({
  name: "BigInt",
  description: "An integer of any size, as a decimal string (wei for token amounts).",
  serialize: (v) => String(v),
  parseValue: (v) => parseBigInt(v),
  parseLiteral: (ast) => (ast.kind === Kind.STRING || ast.kind === Kind.INT ? parseBigInt(ast.value) : parseBigInt(undefined)),
});

function parseBigInt(v: unknown): bigint {
  if ((typeof v === "string" && /^-?[0-9]{1,78}$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v))) return BigInt(v);
  throw badInput("BigInt values are decimal strings of at most 78 digits");
}

/** Addresses as clients wrote them → checksummed (at most {@link CHECKSUMS_KEPT}). */
const checksums = new Map<string, string>();
/** Checksumming hashes the address (keccak): a few percent of serve's CPU when every query names one. */
const CHECKSUMS_KEPT = 10_000;

/** An address from user input, checksummed as stored, or a BAD_USER_INPUT error. */
export function parseAddress(value: string, argument: string): string {
  const known = checksums.get(value);
  if (known !== undefined) return known;
  if (!isAddress(value)) throw badInput(`${argument} is not an address: ${value}`);
  const address = getAddress(value.toLowerCase());
  if (checksums.size >= CHECKSUMS_KEPT) checksums.clear();
  checksums.set(value, address);
  return address;
}

/** Sync status for the API and the health endpoint (`state` as read by {@link readSyncState}). */
export function health(state: SyncState | undefined) {
  const now = Math.floor(Date.now() / 1000);
  return {
    indexedBlock: state?.cursorBlock ?? null,
    indexedTimestamp: state?.cursorTimestamp ?? null,
    chainHead: state?.chainHead ?? null,
    lagBlocks: state?.chainHead != null ? Math.max(0, state.chainHead - state.cursorBlock) : null,
    lagSeconds: state?.cursorTimestamp != null ? Math.max(0, now - state.cursorTimestamp) : null,
  };
}

/** Scalars, page info, ordering direction and health. */
export const coreSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    scalar BigInt

    enum OrderDirection {
      ASC
      DESC
    }

    type PageInfo {
      hasNextPage: Boolean!
      "Pass as \`after\` to get the next page."
      endCursor: String
    }

    type Health {
      indexedBlock: Int
      indexedTimestamp: Int
      chainHead: Int
      lagBlocks: Int
      "Seconds between now and the indexed block's timestamp."
      lagSeconds: Int
    }

    type Query {
      "How far sync has come."
      health: Health!
    }
  `,
  resolvers: {
    BigInt: BigIntScalar,
    Query: { health: async (_: unknown, __: unknown, ctx: ApiContext) => health(await ctx.syncState()) },
  },
};
