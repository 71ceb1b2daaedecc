/**
 * Where a node learns the committee of the current epoch. The registry contract is the source of
 * truth (docs/spec.md §5); until it exists, a JSON file stands in with the same shape of data.
 */
import * as fs from "node:fs";
import { Committee, Member, NO_CHAIN } from "../consensus/types/committee";

/** A source of the current committee that reports epoch changes. */
export interface CommitteeSource {
  /** The committee of the current epoch. */
  current(): Promise<Committee>;
  /** Calls `listener` with each new committee (strictly higher epoch). Returns a stop function. */
  watch(listener: (c: Committee) => void): () => void;
}

/** The committee file format: what the registry holds per member. */
export interface CommitteeFile {
  epoch: number;
  members: {
    /** Hex ed25519 node public key (32 bytes). */
    publicKey: string;
    host: string;
    primaryPort: number;
    workerPort: number;
    /** Voting weight; omitted means 1 (one vote each, the node's choice). */
    weight?: number;
  }[];
}

/** Parses a committee file's contents; throws with a reason when malformed. */
export function parseCommittee(json: CommitteeFile): Committee {
  if (!Number.isSafeInteger(json.epoch) || json.epoch < 0) throw new Error("committee: bad epoch");
  if (!Array.isArray(json.members)) throw new Error("committee: members must be a list");
  const members: Member[] = json.members.map((m) => ({
    publicKey: Buffer.from(m.publicKey, "hex"),
    primary: { host: m.host, port: m.primaryPort },
    worker: { host: m.host, port: m.workerPort },
    weight: m.weight ?? 1,
  }));
  return new Committee(json.epoch, members, NO_CHAIN);
}

/**
 * A committee read from a JSON file, re-read every `pollMs` (rewrite the file to change epoch).
 * Like the registry source, the first read reports the committee of that moment too, so a rewrite
 * between `current()` and `watch()` is never missed (FleekNode ignores epochs it already runs);
 * polling the contents rather than the file's mtime also sees two rewrites within one mtime tick.
 */
export class StaticCommitteeSource implements CommitteeSource {
  constructor(
    private readonly file: string,
    private readonly pollMs = 250,
  ) {}

  async current(): Promise<Committee> {
    return parseCommittee(JSON.parse(await fs.promises.readFile(this.file, "utf8")));
  }

  watch(listener: (c: Committee) => void): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let epoch = -1;
    const poll = async (): Promise<void> => {
      try {
        const c = await this.current();
        if (c.epoch > epoch && !stopped) {
          epoch = c.epoch;
          listener(c);
        }
      } catch {
        // A half-written file: the next poll reads the complete one.
      }
      if (!stopped) timer = setTimeout(() => void poll(), this.pollMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}
