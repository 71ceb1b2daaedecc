import { NodeClient } from "../client/client";
import { SubmitStatus, type SubmitResult } from "../client/protocol";
import type { Logger } from "../logger";

/** Where a node's transactions go: its own consensus instance, or a committee member's. */
export interface TxSubmitter {
  submit(txs: Buffer[]): SubmitResult | Promise<SubmitResult>;
  status(): { epoch: number; member: boolean };
}

/** A committee member's transaction endpoint (its registered `mempool` port = its `mempoolPort`). */
export interface MempoolEndpoint {
  host: string;
  port: number;
}

/**
 * Submits through the local consensus instance while this node is a committee member, and
 * otherwise to a member's mempool port (docs/consensus.md "Fleek's own node": non-members forward to committee
 * workers), moving to the next member when one refuses or cannot be reached.
 */
export class CommitteeSubmitter implements TxSubmitter {
  private client: { endpoint: string; conn: NodeClient } | undefined;
  private next = 0;

  constructor(
    private readonly node: TxSubmitter,
    /** The current committee's endpoints (read from the registry). */
    private readonly members: () => Promise<MempoolEndpoint[]>,
    private readonly logger: Logger,
  ) {}

  /** @inheritdoc */
  status(): { epoch: number; member: boolean } {
    return this.node.status();
  }

  /** @inheritdoc */
  async submit(txs: Buffer[]): Promise<SubmitResult> {
    if (this.node.status().member) return this.node.submit(txs);
    const endpoints = await this.members();
    for (let tried = 0; tried < endpoints.length; tried++) {
      const e = endpoints[this.next % endpoints.length];
      try {
        const res = await (await this.connect(e)).submit(txs);
        if (res.status === SubmitStatus.Ok || res.status === SubmitStatus.Invalid) return res;
        this.logger.debug("committee member refused forwarded transactions", { member: `${e.host}:${e.port}`, reason: res.reason });
      } catch (err) {
        this.logger.debug("committee member unreachable", { member: `${e.host}:${e.port}`, err: String(err) });
      }
      this.drop();
      this.next++;
    }
    return { accepted: 0, status: SubmitStatus.Unavailable, reason: "no committee member took the transactions" };
  }

  private async connect(e: MempoolEndpoint): Promise<NodeClient> {
    const endpoint = `${e.host}:${e.port}`;
    if (this.client?.endpoint === endpoint) return this.client.conn;
    this.drop();
    const conn = await NodeClient.connect(e.host, e.port);
    this.client = { endpoint, conn };
    return conn;
  }

  private drop(): void {
    this.client?.conn.close();
    this.client = undefined;
  }

  /** Closes the connection to a member, if any. */
  close(): void {
    this.drop();
  }
}
