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

/** A committee read from a JSON file, polled for changes (rewrite the file to change epoch). */
export class StaticCommitteeSource implements CommitteeSource {
  constructor(
    private readonly file: string,
    private readonly pollMs = 250,
  ) {}

  async current(): Promise<Committee> {
    return parseCommittee(JSON.parse(await fs.promises.readFile(this.file, "utf8")));
  }

  watch(listener: (c: Committee) => void): () => void {
    let epoch = -1;
    void this.current().then((c) => (epoch = Math.max(epoch, c.epoch)));
    const onChange = (): void => {
      this.current().then(
        (c) => {
          if (c.epoch > epoch) {
            epoch = c.epoch;
            listener(c);
          }
        },
        () => {}, // a half-written file: the next poll reads the complete one
      );
    };
    fs.watchFile(this.file, { interval: this.pollMs }, onChange);
    return () => fs.unwatchFile(this.file, onChange);
  }
}
