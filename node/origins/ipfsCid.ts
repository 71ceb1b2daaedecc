/** Multicodec of raw bytes: a CID with this codec addresses the bytes themselves. */
const RAW_CODEC = 0x55;
/** Multihash code of SHA2-256. */
const SHA2_256 = 0x12;
/** Multihash code of BLAKE3 (32-byte digest): the standard BLAKE3 hash, which is this node's content root. */
const BLAKE3 = 0x1e;

/** What this node can learn from a CID. */
export interface DecodedCid {
  /** The CID as given (canonical for its version). */
  text: string;
  /**
   * The SHA-256 the content must have, when the CID addresses raw bytes hashed with SHA2-256
   * (a CIDv1 `raw` leaf). Other CIDs address an IPLD graph (usually UnixFS dag-pb), which this
   * node does not decode: their content is taken from the gateway unverified (docs/blockstore.md).
   */
  rawSha256?: Buffer;
  /**
   * The BLAKE3 hash of the bytes, when the CID is a CIDv1 `raw` with a BLAKE3 multihash
   * (`bafkr4…`): exactly the node's content root of those bytes (docs/blockstore.md).
   */
  rawBlake3?: Buffer;
}

const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Decodes a CIDv0 (`Qm…`, base58btc) or a CIDv1 in base32 (`b…`); undefined if it is neither. */
export function decodeCid(text: string): DecodedCid | undefined {
  if (/^Qm[1-9A-HJ-NP-Za-km-z]{44}$/.test(text)) {
    // CIDv0 is a bare SHA2-256 multihash of a dag-pb node: nothing raw to verify.
    return decodeBase58(text)?.length === 34 ? { text } : undefined;
  }
  if (!/^b[a-z2-7]+$/.test(text)) return undefined;
  const bytes = decodeBase32(text.slice(1));
  const reader = { bytes, at: 0 };
  const version = readVarint(reader);
  const codec = readVarint(reader);
  const hashCode = readVarint(reader);
  const digestLength = readVarint(reader);
  if (version !== 1 || codec === undefined || hashCode === undefined || digestLength === undefined) return undefined;
  if (reader.at + digestLength !== bytes.length) return undefined;
  const digest = Buffer.from(bytes.subarray(reader.at));
  if (codec !== RAW_CODEC || digestLength !== 32) return { text };
  if (hashCode === SHA2_256) return { text, rawSha256: digest };
  return hashCode === BLAKE3 ? { text, rawBlake3: digest } : { text };
}

function readVarint(reader: { bytes: Uint8Array; at: number }): number | undefined {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = reader.bytes[reader.at++];
    if (byte === undefined) return undefined;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return value;
  }
  return undefined;
}

function decodeBase32(text: string): Uint8Array {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    buffer = (buffer << 5) | BASE32_ALPHABET.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function decodeBase58(text: string): Uint8Array | undefined {
  let value = 0n;
  for (const char of text) {
    const digit = BASE58_ALPHABET.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 58n + BigInt(digit);
  }
  const hex = value.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  const leadingZeros = text.length - text.replace(/^1+/, "").length;
  return Buffer.concat([Buffer.alloc(leadingZeros), body]);
}
