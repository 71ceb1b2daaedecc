/**
 * Node key proofs: the ed25519 check against RFC 8032's test vectors, and the registration proof
 * the dashboard reads back, refused with a reason for every way it can be wrong.
 */
import { expect } from "chai";
import { createPrivateKey, sign } from "node:crypto";
import { hexlify, Wallet } from "ethers";
import { parseRegistrationProof, signNodeKeyProof, verifyKeyProofOfDigest, type RegistrationProof } from "../../protocol/nodeKeyProof";

/** RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72). */
const RFC8032 = [
  {
    publicKey: "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "0x",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    publicKey: "0x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "0x72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];
const split = (sig: string) => [`0x${sig.slice(0, 64)}`, `0x${sig.slice(64)}`];
/** The group order ℓ = 2^252 + 27742317777372353535851937790883648493. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** An ed25519 key pair on node:crypto: an implementation independent of the verifier's. */
function nodeCryptoKey(seedByte: number) {
  const seed = Buffer.alloc(32, seedByte);
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const jwk = privateKey.export({ format: "jwk" });
  return { publicKey: Buffer.from(jwk.x!, "base64url"), sign: (m: Uint8Array) => sign(null, m, privateKey) };
}

describe("node key proofs", () => {
  it("verifies RFC 8032's test vectors and refuses them with one bit flipped", () => {
    for (const v of RFC8032) {
      expect(verifyKeyProofOfDigest(v.message, v.publicKey, split(v.signature)), v.message).to.equal(true);
      const flipped = (parseInt(v.signature[0], 16) ^ 1).toString(16) + v.signature.slice(1);
      expect(verifyKeyProofOfDigest(v.message, v.publicKey, split(flipped))).to.equal(false);
      expect(verifyKeyProofOfDigest("0x73", v.publicKey, split(v.signature))).to.equal(false);
    }
  });

  it("refuses a non-canonical S (S + ℓ), a malformed key and a proof of the wrong shape without throwing", () => {
    const v = RFC8032[1];
    const s = BigInt(`0x${Buffer.from(v.signature.slice(64), "hex").reverse().toString("hex")}`) + L;
    const sPlusL = Buffer.from(s.toString(16).padStart(64, "0"), "hex").reverse().toString("hex");
    expect(verifyKeyProofOfDigest(v.message, v.publicKey, [`0x${v.signature.slice(0, 64)}`, `0x${sPlusL}`])).to.equal(false);
    expect(verifyKeyProofOfDigest(v.message, `0x${"ff".repeat(32)}`, split(v.signature))).to.equal(false);
    expect(verifyKeyProofOfDigest(v.message, v.publicKey.slice(0, 40), split(v.signature))).to.equal(false);
    expect(verifyKeyProofOfDigest(v.message, v.publicKey, [split(v.signature)[0]])).to.equal(false);
  });

  describe("parseRegistrationProof (the dashboard's registration form)", () => {
    const chainId = 8453n;
    const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const operator = new Wallet(`0x${"44".repeat(32)}`).address;
    const other = new Wallet(`0x${"55".repeat(32)}`).address;
    const signer = new Wallet(`0x${"66".repeat(32)}`);
    let proof: RegistrationProof;
    const expected = { operator, chainId, registry };
    const text = (p: object) => JSON.stringify(p);

    before(async () => {
      const proofs = await signNodeKeyProof(chainId, registry, operator, nodeCryptoKey(0x11), signer);
      proof = { chainId: chainId.toString(), registry, operator, signer: signer.address, ...proofs };
    });

    it("accepts the proof for this wallet, chain and registry, whatever the addresses' case", () => {
      const parsed = parseRegistrationProof(text({ ...proof, operator: operator.toLowerCase(), registry: registry.toLowerCase() }), {
        ...expected,
        operator: operator.toUpperCase().replace("0X", "0x"),
      });
      expect(parsed.error).to.equal(undefined);
      expect(parsed.value!.nodeKey).to.equal("0xd04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737");
      expect(parsed.value!.signer).to.equal(signer.address);
    });

    it("refuses text that is not a proof", () => {
      expect(parseRegistrationProof("0xd04ab2…", expected).error).to.match(/Paste the JSON/);
      for (const bad of [
        "null",
        "[]",
        "{}",
        text({ ...proof, keyProof: [proof.keyProof[0]] }),
        text({ ...proof, signerProof: "0x12" }),
        text({ ...proof, chainId: 8453 }),
        text({ ...proof, nodeKey: "0x12" }),
      ]) {
        expect(parseRegistrationProof(bad, expected).error, bad).to.match(/not a registration proof/);
      }
    });

    it("names the mismatch: another chain, another registry, another wallet", () => {
      expect(parseRegistrationProof(text(proof), { ...expected, chainId: 1n }).error).to.equal("The proof is for chain 8453; this wallet is on chain 1.");
      expect(parseRegistrationProof(text(proof), { ...expected, registry: other }).error).to.match(/^The proof is for the registry at 0x5FbDB/);
      expect(parseRegistrationProof(text(proof), { ...expected, operator: other }).error).to.equal(
        `The proof names ${operator} as the operator; run \`node prove\` again with --operator ${other}.`,
      );
    });

    it("refuses a proof whose fields were edited: another signer, another node key, a forged key proof", async () => {
      expect(parseRegistrationProof(text({ ...proof, signer: other }), expected).error).to.match(/signer's proof does not match/);
      expect(parseRegistrationProof(text({ ...proof, operator: other }), { ...expected, operator: other }).error).to.match(/signer's proof does not match/);
      const foreign = await signNodeKeyProof(chainId, registry, operator, nodeCryptoKey(0x22), signer);
      // The key swapped in: the signer signed another key, so its proof no longer matches.
      expect(parseRegistrationProof(text({ ...proof, nodeKey: foreign.nodeKey }), expected).error).to.match(/signer's proof does not match/);
      // The signer's proof kept, another key's signature put in its place.
      expect(parseRegistrationProof(text({ ...proof, keyProof: foreign.keyProof }), expected).error).to.match(/node key's proof does not verify/);
      expect(hexlify(nodeCryptoKey(0x11).publicKey)).to.equal(proof.nodeKey);
    });
  });
});
