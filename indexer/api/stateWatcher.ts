import type { IndexerDatabase } from "../store/database";
import { readSyncState, type SyncState } from "../store/syncState";

/** A sync state as read, with its short name (cache keys and ETags carry it). */
export interface KnownState {
  state: SyncState | undefined;
  version: string;
}

/**
 * The sync cursor as an API process sees it. Every request first waits for {@link fresh}: a read
 * of the cursor that started after the request arrived. So once any process (this one, another
 * `serve`, the writer) has shown a client block N, every later request of that client is answered
 * at a state of at least N: its cache key names that state, and its data reads come after the
 * cursor read (the cursor and the data commit in one transaction, and data only moves forward).
 *
 * Reads coalesce: requests arriving while a read is in flight share the next one, so under load
 * the cost is one small query per database round trip, not per request. (LISTEN/NOTIFY is not
 * enough: a notification is heard some time after the commit, and a client that saw the new
 * block elsewhere — /health, another process — would be answered from the old state meanwhile.)
 */
export interface SyncStateWatcher {
  /** A read of the state that started after this call; rejects when the database cannot be read. */
  fresh(): Promise<KnownState>;
  /** The last state read (undefined before the first read and after a failed one). */
  current(): KnownState | undefined;
  close(): Promise<void>;
}

/** Watches `database`'s sync state (see {@link SyncStateWatcher}). */
export async function watchSyncState(database: IndexerDatabase): Promise<SyncStateWatcher> {
  let latest: KnownState | undefined;
  let inflight: Promise<KnownState> | undefined;
  let queued: Promise<KnownState> | undefined;
  // Reads run one after another, so the last one to end saw the newest state.
  const read = (): Promise<KnownState> => {
    const p = readSyncState(database.db).then(
      (state) => (latest = { state, version: stateVersion(state) }),
      (err) => {
        latest = undefined;
        throw err;
      },
    );
    inflight = p;
    p.finally(() => {
      if (inflight === p) inflight = undefined;
    }).catch(() => {});
    return p;
  };
  const fresh = (): Promise<KnownState> => {
    if (!inflight) return read();
    // The read in flight may have started before this call: wait for the next one.
    return (queued ??= inflight.then(
      () => ((queued = undefined), read()),
      () => ((queued = undefined), read()),
    ));
  };
  await fresh().catch(() => {});
  return { fresh, current: () => latest, close: async () => {} };
}

/** A short name of a state, the same in every process (cache keys and ETags carry it). */
function stateVersion(state: SyncState | undefined): string {
  if (!state) return "empty";
  return `${state.cursorBlock}.${state.cursorHash?.slice(2, 18) ?? "-"}.${state.chainHead ?? "-"}`;
}
