import { expect } from "chai";
import { createHash } from "node:crypto";
import { decodeCid } from "../../../node/origins/ipfsCid";
import { OriginError } from "../../../node/origins/originError";
import { parseOriginPointer } from "../../../node/origins/originPointer";
import { IntegrityCheck, parseIntegrity } from "../../../node/origins/subresourceIntegrity";

const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest("base64");

describe("edge: origin pointers and integrity strings", () => {
  it("uses only the strongest SRI algorithm present, as the W3C spec says", () => {
    const expectation = parseIntegrity(`sha256-${digest("sha256", "x")} sha512-${digest("sha512", "y")} md5-abc`)!;
    expect(expectation.algorithm).to.equal("sha512");
    const check = new IntegrityCheck(expectation);
    check.update(Buffer.from("x"));
    expect(check.matches()).to.equal(false); // the sha256 of "x" does not count next to a sha512
    const right = new IntegrityCheck(expectation);
    right.update(Buffer.from("y"));
    expect(right.matches()).to.equal(true);
    expect(parseIntegrity("md5-abc")).to.equal(undefined);
  });

  it("decodes CIDv0 and CIDv1, and knows which it can verify", () => {
    const v0 = decodeCid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG");
    expect(v0).to.deep.equal({ text: "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG" });
    // bafkrei… is CIDv1 raw + sha2-256: of the bytes "hello world" here.
    const raw = decodeCid("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    expect(raw?.rawSha256?.toString("hex")).to.equal(createHash("sha256").update("hello world").digest("hex"));
    // bafkr4… is CIDv1 raw + BLAKE3: its digest is b3sum's "hello world", the node's content root.
    const blake3 = decodeCid("bafkr4igxjga67jykbseaxdmmdgc5a5o3zp3htom2l6mrjznk7fvyggu6eq");
    expect(blake3?.rawBlake3?.toString("hex")).to.equal("d74981efa70a0c880b8d8c1985d075dbcbf679b99a5f9914e5aaf96b831a9e24");
    expect(blake3?.rawSha256).to.equal(undefined);
    // bafybei… is CIDv1 dag-pb: decoded but not verifiable as raw bytes.
    const dagPb = decodeCid("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
    expect(dagPb).to.not.equal(undefined);
    expect(dagPb?.rawSha256).to.equal(undefined);
    expect(dagPb?.rawBlake3).to.equal(undefined);
    for (const bad of ["Qm123", "bafk!", "zQmfoo", ""]) expect(decodeCid(bad), bad).to.equal(undefined);
  });

  it("recognises IPFS gateway URLs in path and subdomain form and adds the raw CID's digest as a check", () => {
    const cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    for (const url of [`https://gw.example/ipfs/${cid}`, `https://${cid}.ipfs.gw.example/`, `ipfs://${cid}`]) {
      const pointer = parseOriginPointer(url);
      expect(pointer.ipfs?.cid.text, url).to.equal(cid);
      expect(
        pointer.integrity.map((i) => i.algorithm),
        url,
      ).to.deep.equal(["sha256"]);
    }
    const withPath = parseOriginPointer(`https://gw.example/ipfs/${cid}/a.txt`);
    expect(withPath.ipfs?.path).to.equal("/a.txt");
    expect(withPath.integrity).to.deep.equal([]);
  });

  it("takes integrity from the argument or the #integrity= fragment, and refuses formats it cannot check", () => {
    const sri = `sha256-${digest("sha256", "x")}`;
    expect(parseOriginPointer(`https://a.example/f#integrity=${encodeURIComponent(sri)}`).integrity).to.have.length(1);
    const root = "ab".repeat(32);
    const pointer = parseOriginPointer("https://a.example/f", `blake3-${root} ${sri}`);
    expect(pointer.expectedHash).to.equal(root);
    expect(pointer.url?.href).to.equal("https://a.example/f");
    for (const integrity of ["blake3-xyz", "md5-abc", "sha256-!!"]) {
      expect(() => parseOriginPointer("https://a.example/f", integrity), integrity).to.throw(OriginError);
    }
  });
});
