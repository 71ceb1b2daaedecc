import type { RegisteredNode } from "../chain/registryReporting";
import type { Logger } from "../logger";
import type { PeerDirectory } from "./peerDirectory";

/** Reads the registry's active nodes (the part of RegistryReporting the directory uses). */
export interface ActiveNodesReader {
  activeNodes(): Promise<RegisteredNode[]>;
}

/**
 * The peers of this node from the registry: every active node but itself, with the gateway
 * endpoint it registered. Re-read at most every `refreshMs`; while the RPC fails the last list
 * is kept, so peer fetch and pings go on through a chain outage.
 */
export class RegistryPeerDirectory implements PeerDirectory {
  private peerList: RegisteredNode[] = [];
  /** performance.now() of the last read: the refresh period is an interval, which a wall clock stepped back would stretch. */
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly chain: ActiveNodesReader,
    /** This node's ed25519 key (hex), left out of its own peers. */
    private readonly selfKey: string,
    private readonly logger: Logger,
    private readonly refreshMs = 10_000,
  ) {}

  /** The active nodes other than this one, refreshed when stale. */
  async peers(): Promise<RegisteredNode[]> {
    if (performance.now() - this.readAt >= this.refreshMs) {
      this.reading ??= this.chain
        .activeNodes()
        .then((nodes) => {
          this.peerList = nodes.filter((n) => n.nodeKey !== this.selfKey);
          this.readAt = performance.now();
        })
        .catch((err) => this.logger.warn("reading peers from the registry failed", { err: String(err) }))
        .finally(() => (this.reading = undefined));
      await this.reading;
    }
    return this.peerList;
  }

  /** @inheritdoc — every peer may hold anything (there is no content registry yet). */
  async providersOf(): Promise<string[]> {
    return (await this.peers()).map((p) => p.gatewayUrl);
  }
}
