/**
 * The content root a function path names (`/fn/blake3/<root>/...` or `/fn/ipfs/<cid>/...`), parsed
 * where the gateway reads the function's registered terms and where the service runs it.
 */
import { decodeCid } from "../origins/ipfsCid";

/** A path that names no function, with its status and reason. */
export class BadFunctionPath extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The root (64 lower-case hex) of a `/fn/...` path's function; throws {@link BadFunctionPath}. */
export function functionRootOf(pathname: string): string {
  const parts = pathname.split("/");
  // ["", "fn", scheme, id, ...path]
  if (parts[1] !== "fn" || parts.length < 4) throw new BadFunctionPath(404, "functions are at /fn/blake3/<root>/<path>");
  if (parts[2] !== "blake3" && parts[2] !== "ipfs")
    throw new BadFunctionPath(404, `unknown content scheme ${JSON.stringify(parts[2])}: use /fn/blake3/<root>/<path>`);
  const root = parts[2] === "ipfs" ? rootOfCid(parts[3]) : parts[3].toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(root)) throw new BadFunctionPath(400, `not a content root (64 hex characters): ${JSON.stringify(parts[3])}`);
  return root;
}

/**
 * The content root a CID names: a CIDv1 `raw` with a BLAKE3 multihash (`bafkr4…`) carries it
 * as its digest, so the function is read and verified through the blockstore as by root. Other
 * CIDs (sha2-256 raw leaves, dag-pb) name bytes by a hash the blockstore does not index.
 */
function rootOfCid(text: string): string {
  const cid = decodeCid(text);
  if (!cid) throw new BadFunctionPath(400, `not a CID (CIDv1 base32 or CIDv0): ${JSON.stringify(text)}`);
  if (cid.rawBlake3) return cid.rawBlake3.toString("hex");
  throw new BadFunctionPath(
    501,
    "functions by IPFS CID need a CIDv1 raw with a BLAKE3 multihash (bafkr4…, the bundle's b3sum); for other CIDs add the bundle through POST /origins and call /fn/blake3/<root>",
  );
}
