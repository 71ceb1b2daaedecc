/**
 * Mutual authentication of a fresh connection against the committee's ed25519 node keys.
 *
 * Each side sends Hello(magic, domain, epoch, public key, 32-byte random nonce), then
 * Auth(signature over H(tag | domain | epoch | chain binding | the other side's nonce | signer key |
 * other key)); the chain binding (committee.ts) is the chain id and registry address.
 * Signing the other side's fresh nonce proves possession of the key now (no replay); binding both
 * keys, the domain (primary / worker) and the epoch stops a signature being reused elsewhere.
 */
import { randomBytes } from "node:crypto";
import { AuthorityIndex, Committee } from "../consensus/types/committee";
import { Reader, Writer } from "../consensus/types/codec";
import { hash, KeyPair, PUBLIC_KEY_LEN, SIGNATURE_LEN, verifySignature } from "../consensus/types/crypto";

const MAGIC = 0x4e4b4c46; // "FLKN"
const AUTH_TAG = Buffer.from("fleek-narwhal-auth-v1");

/** A peer in another epoch: expected while nodes switch epochs, so logged quietly. */
export class EpochMismatch extends Error {}

/** Which protocol a connection carries; part of what is signed. */
export type Domain = "primary" | "worker";

/** The state machine of one side of a handshake. */
export class Handshake {
  private readonly nonce = randomBytes(32);
  private peerKey: Buffer | undefined;
  private peerNonce: Buffer | undefined;
  /** The authenticated peer, once `receive` returned "done". */
  peer: AuthorityIndex | undefined;

  constructor(
    private readonly key: KeyPair,
    private readonly committee: Committee,
    private readonly domain: Domain,
  ) {}

  /** The first frame to send. */
  hello(): Buffer {
    const w = new Writer(96);
    w.u32(MAGIC)
      .u8(this.domain === "primary" ? 1 : 2)
      .u64(this.committee.epoch)
      .fixed(this.key.publicKey)
      .fixed(this.nonce);
    return w.finish();
  }

  private transcript(nonce: Buffer, signer: Buffer, other: Buffer): Buffer {
    const w = new Writer(160);
    w.u8(this.domain === "primary" ? 1 : 2)
      .u64(this.committee.epoch)
      .fixed(this.committee.domain)
      .fixed(nonce)
      .fixed(signer)
      .fixed(other);
    return hash(AUTH_TAG, w.finish());
  }

  /**
   * Consumes a handshake frame. Returns a frame to send back (our Auth after their Hello),
   * "done" once their Auth verified, or throws with the reason the peer is refused.
   */
  receive(frame: Buffer): Buffer | "done" {
    const r = new Reader(frame);
    if (!this.peerKey) {
      if (r.u32() !== MAGIC) throw new Error("not a Fleek narwhal peer");
      const domain = r.u8();
      if (domain !== (this.domain === "primary" ? 1 : 2)) throw new Error(`wrong domain ${domain}`);
      const epoch = r.u64();
      if (epoch !== this.committee.epoch) throw new EpochMismatch(`peer in epoch ${epoch}, we are in ${this.committee.epoch}`);
      const peerKey = Buffer.from(r.fixed(PUBLIC_KEY_LEN));
      this.peerNonce = Buffer.from(r.fixed(32));
      r.end();
      if (this.committee.indexOf(peerKey) === undefined) throw new Error(`key ${peerKey.toString("hex")} is not in the committee`);
      if (peerKey.equals(this.key.publicKey)) throw new Error("peer presents our own key");
      this.peerKey = peerKey;
      return this.key.sign(this.transcript(this.peerNonce, this.key.publicKey, peerKey));
    }
    const signature = r.fixed(SIGNATURE_LEN);
    r.end();
    if (!verifySignature(this.peerKey, this.transcript(this.nonce, this.peerKey, this.key.publicKey), signature)) {
      throw new Error("bad handshake signature");
    }
    this.peer = this.committee.indexOf(this.peerKey);
    return "done";
  }
}
