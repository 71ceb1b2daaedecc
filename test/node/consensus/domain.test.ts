/**
 * Domain separation: the same node keys may serve on two deployments (another chain, or another
 * registry on the same chain) with the same epoch numbers. A header, vote, certificate or
 * handshake signed for one must be refused by the other, and accepted by its own.
 */
import { expect } from "chai";
import { Committee, NO_CHAIN } from "../../../node/consensus/types/committee";
import { checkCertificate, checkHeader, makeCertificate, signHeader, signVote, verifyVote } from "../../../node/consensus/types/messages";
import { Handshake } from "../../../node/network/handshake";
import { testCommittee } from "./dagFixtures";

describe("domain separation of consensus signatures", () => {
  const { committee: local, keys } = testCommittee(4);
  const base = { chainId: 8453n, registry: "0x1111111111111111111111111111111111111111" };
  const deployments = {
    base: new Committee(local.epoch, [...local.members], base),
    sepolia: new Committee(local.epoch, [...local.members], { ...base, chainId: 84532n }),
    otherRegistry: new Committee(local.epoch, [...local.members], { ...base, registry: "0x2222222222222222222222222222222222222222" }),
    local,
  };

  it("refuses headers, votes and certificates signed for another chain or registry", () => {
    const signedFor = deployments.base;
    const header = signHeader({ epoch: local.epoch, round: 1, author: 0, createdAt: 1, payload: [], parents: [] }, keys[0], signedFor.domain);
    const votes = [0, 1, 2].map((voter) => signVote(header, voter, keys[voter], signedFor.domain));
    const cert = makeCertificate(
      header,
      votes.map((v) => ({ voter: v.voter, signature: v.signature })),
    );
    expect(checkHeader(header, signedFor)).to.equal(undefined);
    expect(votes.every((v) => verifyVote(v, signedFor))).to.equal(true);
    expect(checkCertificate(cert, signedFor)).to.equal(undefined);
    for (const other of [deployments.sepolia, deployments.otherRegistry, deployments.local]) {
      expect(checkHeader(header, other)).to.equal("bad header signature");
      expect(votes.some((v) => verifyVote(v, other))).to.equal(false);
      expect(checkCertificate(cert, other)).to.equal("bad header signature");
    }
    // A certificate whose header is re-signed for the other deployment still carries foreign votes.
    const resigned = signHeader(header, keys[0], deployments.sepolia.domain);
    expect(checkCertificate(makeCertificate(resigned, cert.votes), deployments.sepolia)).to.equal("bad vote signature");
  });

  it("refuses a handshake from the same key on another deployment", () => {
    const mine = new Handshake(keys[0], deployments.base, "primary");
    const theirs = new Handshake(keys[1], deployments.sepolia, "primary");
    const auth = theirs.receive(mine.hello()) as Buffer;
    mine.receive(theirs.hello());
    expect(() => mine.receive(auth)).to.throw(/bad handshake signature/);
    const same = new Handshake(keys[1], deployments.base, "primary");
    const mine2 = new Handshake(keys[0], deployments.base, "primary");
    const auth2 = same.receive(mine2.hello()) as Buffer;
    mine2.receive(same.hello());
    expect(mine2.receive(auth2)).to.equal("done");
  });

  it("derives distinct domains for distinct deployments", () => {
    const domains = Object.values(deployments).map((c) => c.domain.toString("hex"));
    expect(new Set(domains).size).to.equal(4);
    expect(deployments.local.chain).to.equal(NO_CHAIN);
  });
});
