import type { ContentHash } from "../blockstore/contentHash";

/**
 * Who may hold a piece of content: gateway base URLs of peer nodes (`http://host:port`). The
 * consensus side will answer this from the on-chain content registry; until then a static list.
 */
export interface PeerDirectory {
  /** Peers to ask for `hash`, best first. */
  providersOf(hash: ContentHash): Promise<string[]> | string[];
}

/** A fixed list of peers, asked for everything. */
export class StaticPeerDirectory implements PeerDirectory {
  constructor(private readonly peers: string[]) {}

  /** @inheritdoc */
  providersOf(): string[] {
    return this.peers;
  }
}
