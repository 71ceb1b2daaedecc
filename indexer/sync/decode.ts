import { EventFragment, getAddress, Interface, type ParamType } from "ethers";

/** Decoded event arguments by name. */
export type EventArgs = Record<string, unknown>;

/** Decodes one log's topics and data into named arguments. */
export type LogDecoder = (topics: readonly string[], data: string) => EventArgs;

const STATIC = /^(address|bool|bytes(3[0-2]|[12][0-9]|[1-9])|u?int(\d*))$/;

/**
 * A decoder per event topic of `iface`. Events whose parameters are all static (addresses,
 * integers, bools, fixed bytes: Transfer and most hot events) get a direct word decoder with a
 * memo of checksummed addresses; ethers' general decoder is several times slower because it
 * rebuilds a Result and re-hashes every address. Other events use ethers.
 */
export function buildDecoders(iface: Interface): Map<string, { name: string; decode: LogDecoder }> {
  const out = new Map<string, { name: string; decode: LogDecoder }>();
  iface.forEachEvent((event: EventFragment) => {
    const fast = event.inputs.every((p) => STATIC.test(p.type)) && !event.anonymous;
    const decode: LogDecoder = fast ? staticDecoder(event.inputs) : (topics, data) => iface.decodeEventLog(event, data, topics).toObject();
    out.set(event.topicHash, { name: event.name, decode });
  });
  return out;
}

const checksummed = new Map<string, string>();

function address(word: string): string {
  const raw = "0x" + word.slice(24);
  let a = checksummed.get(raw);
  if (!a) {
    a = getAddress(raw);
    if (checksummed.size > 100_000) checksummed.clear();
    checksummed.set(raw, a);
  }
  return a;
}

function staticDecoder(inputs: readonly ParamType[]): LogDecoder {
  const readers = inputs.map((p) => {
    const m = STATIC.exec(p.type)!;
    const signedBits = p.type.startsWith("int") ? Number(m[3] || 256) : 0;
    const read = (word: string): unknown => {
      if (p.type === "address") return address(word);
      if (p.type === "bool") return BigInt("0x" + word) !== 0n;
      if (p.type.startsWith("bytes")) return "0x" + word.slice(0, Number(m[2]) * 2);
      const v = BigInt("0x" + word);
      return signedBits && v >> 255n ? v - (1n << 256n) : v;
    };
    return { name: p.name, indexed: p.indexed === true, read };
  });
  return (topics, data) => {
    const args: EventArgs = {};
    let topic = 1;
    let offset = 2;
    for (const r of readers) {
      if (r.indexed) args[r.name] = r.read(topics[topic++].slice(2));
      else {
        args[r.name] = r.read(data.slice(offset, offset + 64));
        offset += 64;
      }
    }
    return args;
  };
}
