import { parseContentHash, type ContentHash } from "../blockstore/contentHash";
import { decodeCid, type DecodedCid } from "./ipfsCid";
import { OriginError } from "./originError";
import { parseIntegrity, type IntegrityExpectation } from "./subresourceIntegrity";

/** A parsed request to pull content from outside the network. */
export interface OriginPointer {
  /** The URL to fetch; absent for `ipfs://` pointers, which go to the node's own IPFS gateways. */
  url?: URL;
  /** Set when the pointer names IPFS content: its CID and the path under it (`/a/b.txt` or ""). */
  ipfs?: { cid: DecodedCid; path: string };
  /** Digests the bytes must match: the client's SRI, and a raw CID's own SHA-256. */
  integrity: IntegrityExpectation[];
  /** Block-tree root the bytes must have (`blake3-<hex>` in the integrity string). */
  expectedHash?: ContentHash;
  /** Canonical text of the pointer: requests with the same key share one fetch. */
  key: string;
}

/**
 * Parses an origin URL and its optional integrity string. Accepted:
 * `http(s)://…` (integrity from the argument or a `#integrity=` fragment, as Fleek's node takes
 * it), `ipfs://<cid>[/path]`, and IPFS gateway URLs in path (`https://gw/ipfs/<cid>/…`) or
 * subdomain (`https://<cid>.ipfs.gw/…`) form. Integrity tokens: SRI (`sha256-…`, `sha384-…`,
 * `sha512-…`) and `blake3-<64 hex>` for this store's root. Throws {@link OriginError} `bad-pointer`.
 */
export function parseOriginPointer(text: string, integrityText?: string): OriginPointer {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OriginError("bad-pointer", `not a URL: ${JSON.stringify(text)}`);
  }
  const fragment = /^#integrity=(.+)$/.exec(url.hash);
  url.hash = "";
  const rawIntegrity = integrityText ?? (fragment ? decodeURIComponent(fragment[1]) : undefined);
  const { sri, expectedHash } = parseIntegrityText(rawIntegrity);
  const key = `${url.href} ${rawIntegrity?.trim() ?? ""}`;

  if (url.protocol === "ipfs:") {
    const ipfs = { cid: cidOrThrow(url.hostname), path: url.pathname === "/" ? "" : url.pathname };
    return { ipfs, integrity: withCid(sri, ipfs), expectedHash, key };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OriginError("bad-pointer", `unsupported origin scheme ${url.protocol} (use http, https or ipfs)`);
  }
  const pathStyle = /^\/ipfs\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const subdomain = /^([^.]+)\.ipfs\./.exec(url.hostname);
  if (pathStyle || subdomain) {
    const cid = cidOrThrow(pathStyle?.[1] ?? subdomain![1]);
    const ipfs = { cid, path: pathStyle ? (pathStyle[2] ?? "") : url.pathname === "/" ? "" : url.pathname };
    return { url, ipfs, integrity: withCid(sri, ipfs), expectedHash, key };
  }
  return { url, integrity: sri ? [sri] : [], expectedHash, key };
}

/** The checks for IPFS content: the client's, plus the CID itself when it addresses raw bytes. */
function withCid(sri: IntegrityExpectation | undefined, ipfs: { cid: DecodedCid; path: string }): IntegrityExpectation[] {
  const checks = sri ? [sri] : [];
  if (ipfs.cid.rawSha256 && ipfs.path === "") checks.push({ algorithm: "sha256", digests: [ipfs.cid.rawSha256] });
  return checks;
}

function cidOrThrow(text: string): DecodedCid {
  const cid = decodeCid(text);
  if (!cid) throw new OriginError("bad-pointer", `not a CID this node understands (CIDv0 or base32 CIDv1): ${text}`);
  return cid;
}

function parseIntegrityText(text: string | undefined): { sri?: IntegrityExpectation; expectedHash?: ContentHash } {
  if (text === undefined || text.trim() === "") return {};
  const tokens = text.trim().split(/\s+/);
  const blake3Tokens = tokens.filter((token) => token.startsWith("blake3-"));
  const expectedHash = blake3Tokens.length > 0 ? parseContentHash(blake3Tokens[0].slice("blake3-".length)) : undefined;
  const sriText = tokens.filter((token) => !token.startsWith("blake3-")).join(" ");
  const sri = sriText ? parseIntegrity(sriText) : undefined;
  if ((blake3Tokens.length > 0 && !expectedHash) || (sriText && !sri)) {
    throw new OriginError("bad-pointer", `unsupported integrity ${JSON.stringify(text)} (use sha256-/sha384-/sha512-<base64> or blake3-<hex>)`);
  }
  return { sri, expectedHash };
}
