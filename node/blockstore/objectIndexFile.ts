import { HASH_BYTES } from "./contentHash";
import { leavesFromOutboard } from "./blockTree";

/** What the store keeps about one object besides its bytes. */
export interface ObjectIndex {
  /** Content length in bytes. */
  length: number;
  /** Media type learnt from the origin, if any (not covered by the root: metadata only). */
  contentType?: string;
  /** Block hashes, in block order. */
  leaves: Buffer[];
}

/**
 * Encodes an object's `.tree` file: u64le length ‖ u16le type length ‖ type (UTF-8) ‖ leaf hashes.
 * The leaves are checked against the root (the file name) whenever the file is loaded.
 */
export function encodeObjectIndex(index: ObjectIndex): Buffer {
  const type = Buffer.from(index.contentType ?? "", "utf8");
  const header = Buffer.alloc(10);
  header.writeBigUInt64LE(BigInt(index.length), 0);
  header.writeUInt16LE(type.length, 8);
  return Buffer.concat([header, type, ...index.leaves]);
}

/** Decodes a `.tree` file; throws on a malformed one (the caller then drops the object). */
export function decodeObjectIndex(bytes: Buffer): ObjectIndex {
  if (bytes.length < 10) throw new Error("object index too short");
  const length = Number(bytes.readBigUInt64LE(0));
  const typeLength = bytes.readUInt16LE(8);
  const typeEnd = 10 + typeLength;
  if (bytes.length < typeEnd || (bytes.length - typeEnd) % HASH_BYTES !== 0) throw new Error("object index malformed");
  const contentType = typeLength > 0 ? bytes.subarray(10, typeEnd).toString("utf8") : undefined;
  return { length, contentType, leaves: leavesFromOutboard(bytes.subarray(typeEnd)) };
}
