import { HASH_BYTES } from "./contentHash";
import { leavesFromOutboard } from "./blockTree";

/** What the store keeps about one object besides its bytes. */
export interface ObjectIndex {
  /** Content length in bytes. */
  length: number;
  /** Media type learnt from the origin, if any (not covered by the root: metadata only). */
  contentType?: string;
  /** Block hashes (BLAKE3 chaining values), in block order. */
  leaves: Buffer[];
}

/**
 * First bytes of a `.tree` file since roots became standard BLAKE3 hashes. Its last byte is
 * non-zero, so it can never be the u64le length a legacy (keyed-tree) index starts with.
 */
const INDEX_MAGIC = Buffer.from("fleek-b3", "ascii");

/** Bytes of a `.tree` file besides the media type and the leaves. */
export const INDEX_HEADER_BYTES = INDEX_MAGIC.length + 10;

/**
 * Encodes an object's `.tree` file: "fleek-b3" ‖ u64le length ‖ u16le type length ‖ type (UTF-8)
 * ‖ leaf hashes. The leaves are checked against the root (the file name) whenever it is loaded.
 */
export function encodeObjectIndex(index: ObjectIndex): Buffer {
  const type = Buffer.from(index.contentType ?? "", "utf8");
  const header = Buffer.alloc(10);
  header.writeBigUInt64LE(BigInt(index.length), 0);
  header.writeUInt16LE(type.length, 8);
  return Buffer.concat([INDEX_MAGIC, header, type, ...index.leaves]);
}

/**
 * Decodes a `.tree` file. A file without the magic is a legacy index (the keyed tree of the
 * first format): its length and media type are returned with `legacy` set and no leaves, since
 * its hashes mean nothing any more and the store re-hashes the data. Throws on a malformed file
 * (the caller then drops the object).
 */
export function decodeObjectIndex(bytes: Buffer): ObjectIndex & { legacy: boolean } {
  const legacy = !bytes.subarray(0, INDEX_MAGIC.length).equals(INDEX_MAGIC);
  const body = legacy ? bytes : bytes.subarray(INDEX_MAGIC.length);
  if (body.length < 10) throw new Error("object index too short");
  const length = Number(body.readBigUInt64LE(0));
  if (!Number.isSafeInteger(length)) throw new Error("object index length out of range");
  const typeLength = body.readUInt16LE(8);
  const typeEnd = 10 + typeLength;
  if (body.length < typeEnd || (body.length - typeEnd) % HASH_BYTES !== 0) throw new Error("object index malformed");
  const contentType = typeLength > 0 ? body.subarray(10, typeEnd).toString("utf8") : undefined;
  return { length, contentType, leaves: legacy ? [] : leavesFromOutboard(body.subarray(typeEnd)), legacy };
}
