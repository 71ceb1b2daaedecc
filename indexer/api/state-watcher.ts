import pg from "pg";
import type { IndexerDatabase } from "../store/database";
import { readSyncState, SYNC_STATE_CHANNEL, type SyncState } from "../store/sync-state";

/**
 * The sync cursor as an API process sees it, kept current by the database itself: the writer's
 * every change of `indexer_state` is announced at commit (LISTEN/NOTIFY, migration
 * 001-state-notify), so requests need not read it and responses can be cached per state.
 */
export interface SyncStateWatcher {
  /**
   * The state, or undefined while it is not known for sure: before the first read, between a
   * change's announcement and its re-read, and while the listening connection is down.
   */
  current(): { state: SyncState | undefined; version: string } | undefined;
  close(): Promise<void>;
}

/** Backoff between attempts to restore a lost listening connection. */
const RECONNECT_MS = [250, 1000, 5000];

/**
 * Watches `database`'s sync state: on PostgreSQL with a dedicated connection that LISTENs (and
 * reconnects after a failure), on PGlite through the embedded instance.
 */
export async function watchSyncState(database: IndexerDatabase): Promise<SyncStateWatcher> {
  let known: { state: SyncState | undefined; version: string } | undefined;
  let closed = false;
  // Re-reads coalesce: a change announced during a read triggers exactly one more read.
  let reading: Promise<void> | undefined;
  let again = false;
  const refresh = (): void => {
    known = undefined;
    if (reading) {
      again = true;
      return;
    }
    reading = readSyncState(database.db)
      .then(
        (state) => {
          if (!again && !closed) known = { state, version: stateVersion(state) };
        },
        () => {}, // unknown until the next announcement or reconnect
      )
      .finally(() => {
        reading = undefined;
        if (again && !closed) {
          again = false;
          refresh();
        }
      });
  };
  // The first read is waited for, so a server's first answers are cached too.
  const settled = async () => {
    while (reading) await reading;
  };

  if (database.kind === "pglite") {
    const unlisten = await database.pglite!.listen(SYNC_STATE_CHANNEL, refresh);
    refresh();
    await settled();
    return {
      current: () => known,
      close: async () => {
        closed = true;
        await unlisten();
      },
    };
  }

  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: database.url });
    c.on("notification", refresh);
    c.on("error", () => lost(c));
    c.on("end", () => lost(c));
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${SYNC_STATE_CHANNEL}`);
      failures = 0;
      refresh(); // what changed while nobody listened
    } catch {
      lost(c);
    }
  };
  const lost = (c: pg.Client): void => {
    if (client !== c || closed) return;
    client = undefined;
    known = undefined;
    c.end().catch(() => {});
    timer = setTimeout(() => void connect(), RECONNECT_MS[Math.min(failures++, RECONNECT_MS.length - 1)]);
  };
  await connect();
  await settled();
  return {
    current: () => known,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}

/** A short name of a state, the same in every process (cache keys and ETags carry it). */
function stateVersion(state: SyncState | undefined): string {
  if (!state) return "empty";
  return `${state.cursorBlock}.${state.cursorHash?.slice(2, 18) ?? "-"}.${state.chainHead ?? "-"}`;
}
