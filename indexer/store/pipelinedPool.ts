import { EventEmitter } from "node:events";
import pg from "pg";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/** One shared connection: node-postgres in pipeline mode, and how many of its queries are unanswered. */
interface Shared {
  client: pg.Client;
  handle: PostgresPoolClient;
  pending: number;
  broken: boolean;
}

/** A transaction would interleave with other requests' queries on a shared connection. */
const TRANSACTION = /^\s*(begin|start\s+transaction)\b/i;

/**
 * A kysely `PostgresPool` for read-only serving whose connections are shared, not lent: every
 * query goes to the open connection with the fewest unanswered queries (another one is opened,
 * up to `size`, while all are busy), in node-postgres's pipeline mode, which writes a query
 * without waiting for the answers before it. The socket is corked until the end of the tick, so
 * the queries of every request resolved in one tick leave in one write and their answers come
 * back in a few reads.
 *
 * Measured (bench/indexer, `--cache-mb 0`): with a lending pool each query cost its own `writev`
 * on loopback TCP (a syscall that also does the receiving end's work and wakes the backend), a
 * third of serve's CPU per request.
 *
 * Each query still carries its own Sync, so it is its own implicit transaction with its own
 * snapshot taken when the server runs it, after it was written; a failing query fails alone.
 * Transactions are refused (they would take in other requests' queries). A connection that
 * fails is dropped, its unanswered queries fail, and the next query opens a new one.
 * Emits `connect` with each new client (as pg.Pool does; prepared.ts hooks in there).
 */
export class PipelinedPool extends EventEmitter implements PostgresPool {
  private readonly open: (Shared | undefined)[] = [];
  private readonly opening = new Set<Promise<Shared>>();
  private ended = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly size: number,
  ) {
    super();
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.ended) throw new Error("the pool is closed");
    let best: Shared | undefined;
    for (const shared of this.open) if (shared && (!best || shared.pending < best.pending)) best = shared;
    if (best && (best.pending === 0 || this.open.length + this.opening.size >= this.size)) return best.handle;
    if (this.open.length + this.opening.size < this.size) return (await this.add()).handle;
    // Every slot is still opening: wait for one.
    return (await Promise.race(this.opening)).handle;
  }

  async end(): Promise<void> {
    this.ended = true;
    await Promise.allSettled(this.opening);
    await Promise.all(this.open.splice(0).map((shared) => shared?.client.end().catch(() => {})));
  }

  private add(): Promise<Shared> {
    const opening = this.openOne();
    this.opening.add(opening);
    opening.then(
      (shared) => {
        this.opening.delete(opening);
        if (this.ended) void shared.client.end().catch(() => {});
        else this.open.push(shared);
      },
      () => this.opening.delete(opening),
    );
    return opening;
  }

  private async openOne(): Promise<Shared> {
    const client = new pg.Client({ ...this.config, pipeline: true } as pg.ClientConfig);
    const shared: Shared = { client, handle: undefined as never, pending: 0, broken: false };
    const drop = () => {
      if (shared.broken) return;
      shared.broken = true;
      const at = this.open.indexOf(shared);
      if (at >= 0) this.open.splice(at, 1);
    };
    // A dropped connection fails its unanswered queries (node-postgres does that); only forget it.
    client.on("error", drop);
    client.on("end", drop);
    await client.connect();
    this.emit("connect", client);
    let corked = false;
    const uncork = () => {
      corked = false;
      (client as unknown as { connection: { stream: { uncork(): void } } }).connection.stream.uncork();
    };
    shared.handle = {
      query: ((text: string, values: readonly unknown[]) => {
        if (typeof text !== "string") throw new Error("cursors are not supported on the pipelined pool");
        if (TRANSACTION.test(text)) throw new Error("transactions are not supported on the pipelined pool (read-only serving)");
        if (!corked && !shared.broken) {
          corked = true;
          (client as unknown as { connection: { stream: { cork(): void } } }).connection.stream.cork();
          process.nextTick(uncork);
        }
        shared.pending++;
        return (client.query(text, values as unknown[]) as Promise<PostgresQueryResult<unknown>>).finally(() => shared.pending--);
      }) as PostgresPoolClient["query"],
      release: () => {},
    };
    return shared;
  }
}
