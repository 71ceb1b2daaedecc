/**
 * The primary (docs/consensus.md "Narwhal: vote rule"): validates headers and votes for them under the vote rule,
 * aggregates votes on its own header into a certificate, accepts certificates once all their
 * parents are stored (so consensus receives them in causal order), fetches missing parents, and
 * garbage-collects rounds below the consensus GC round.
 *
 * Every message from the network is checked before it changes any state; a bad one is logged and
 * dropped, never thrown.
 */
import { AuthorityIndex, Committee } from "../types/committee";
import { KeyPair } from "../types/crypto";
import {
  Certificate,
  checkCertificate,
  encodeCertificate,
  checkHeader,
  Digest,
  genesis,
  Header,
  hex,
  makeCertificate,
  signHeader,
  signVote,
  verifyVote,
  Vote,
} from "../types/messages";
import { decodePrimary, encodeCertificateReplies, encodePrimary, PrimaryMessage } from "../types/wire";
import { hash } from "../types/crypto";
import { PeerNetwork } from "../../network/peerNetwork";
import { ConsensusStore } from "../../storage/consensusStore";
import { Logger } from "../../logger";
import { Worker } from "../worker/worker";
import { OwnBatches } from "./ownBatches";
import { Proposer } from "./proposer";

/** Most rounds one catch-up request asks for (the reply is bounded in bytes anyway). */
const RANGE_ROUNDS = 100;
/** A header created further in the future than this (by our clock) is refused. */
const MAX_CLOCK_SKEW_MS = 30_000;
/** Certificates that failed their check, remembered (by hash of their bytes) so a replay costs one hash. */
const REJECTED_CERTIFICATES = 10_000;

/** Options of a {@link Primary}. */
export interface PrimaryOptions {
  committee: Committee;
  me: AuthorityIndex;
  key: KeyPair;
  network: PeerNetwork;
  store: ConsensusStore;
  worker: Worker;
  logger: Logger;
  headerBatches: number;
  maxHeaderBatches: number;
  maxHeaderDelayMs: number;
  /** Re-broadcast our header if it is not certified after this long (lost messages, restarted peers). */
  headerResendMs: number;
  /** Ask another peer for missing certificates after this long. */
  syncRetryMs: number;
  /** Largest frame a peer accepts: catch-up replies are split under it. */
  maxFrame: number;
  /** Bullshark's GC depth: certificates stay in memory for this many rounds below the GC round. */
  gcDepth: number;
}

interface Votes {
  header: Header;
  signatures: Map<AuthorityIndex, Buffer>;
  certified: boolean;
  /**
   * performance.now() of the last broadcast, as are the other resend times here: intervals in this
   * process, which a wall clock stepped back would stall (the header's createdAt stays wall-clock).
   */
  sentAt: number;
}

/** One node's primary. */
export class Primary {
  private readonly committee: Committee;
  private readonly genesis: Map<string, Certificate>;
  /** Accepted certificates above the GC round, by round and author. */
  private readonly dag = new Map<number, Map<AuthorityIndex, Certificate>>();
  /** Certificates waiting for a missing parent, keyed by that parent's digest (real certificates only). */
  private readonly parkedCerts = new Map<string, Certificate[]>();
  /**
   * Per author, its newest header waiting for missing parents. One each bounds what a Byzantine
   * author can make us hold by sending headers with made-up parents.
   */
  private readonly waitingHeaders = new Map<AuthorityIndex, { header: Header; from: AuthorityIndex; missing: Set<string> }>();
  /** Certificates we asked for and when (performance.now()). */
  private readonly requested = new Map<string, number>();
  /** Hashes of the bytes of certificates that failed their check (insertion order, bounded). */
  private readonly rejected = new Set<string>();
  private current: Votes | undefined;
  /** Payloads of own headers not yet seen committed (see {@link onCommitted}). */
  private readonly ownBatches: OwnBatches;
  private gcRound = 0;
  /** The last catch-up request by round range: when, and the last round it asked for. */
  private rangeAsked = { at: -Infinity, to: 0 };
  private readonly proposer: Proposer;
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;
  /** Receives every accepted certificate, in causal order. */
  onCertificate: (c: Certificate) => void = () => {};

  constructor(private readonly o: PrimaryOptions) {
    this.committee = o.committee;
    this.log = o.logger;
    this.genesis = new Map(genesis(o.committee).map((c) => [hex(c.digest), c]));
    const lastOwn = o.store.lastOwnHeader();
    this.proposer = new Proposer(
      {
        committee: o.committee,
        me: o.me,
        headerBatches: o.headerBatches,
        maxHeaderBatches: o.maxHeaderBatches,
        maxHeaderDelayMs: o.maxHeaderDelayMs,
        certificateOf: (round, author) => this.dag.get(round)?.get(author),
        propose: (round, parents, payload) => this.propose(round, parents, payload),
      },
      lastOwn?.round ?? 0,
    );
    this.ownBatches = new OwnBatches(o.me, o.gcDepth, o.store.lastBullsharkState()?.lastCommitted[o.me] ?? 0);
    // Every header of ours that may still commit, certified or not, stored or not (peers may
    // hold a certificate we broadcast before writing it): OwnBatches treats each as certified,
    // so their payloads wait for their headers to be dead, then are proposed again.
    this.ownBatches.restored(o.store.ownHeaders());
    if (lastOwn) {
      // The last one goes on collecting votes until its certificate forms again or comes back
      // from a peer (see accept), or we propose the next one. One at or below our last committed
      // round was committed or can no longer be (and was pruned from memory): it is left alone.
      const certified = this.ownBatches.settled(lastOwn.round) || o.store.hasCertificate(makeCertificate(lastOwn, []).digest);
      this.current = { header: lastOwn, signatures: new Map(), certified, sentAt: -Infinity };
    }
    // After our own state is restored: the genesis round is a quorum, so inserting it may propose
    // at once (the header delay already passed on a loaded machine), which reads that state.
    for (const c of this.genesis.values()) this.insert(c);
    o.network.onFrame((from, frame) => this.onFrame(from, frame));
    o.worker.onOwnBatch = (d) => this.proposer.addBatch(d);
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(o.headerResendMs, o.syncRetryMs) / 2));
  }

  /**
   * Re-accepts the certificates stored before a restart (in their stored, causal order), which
   * also hands them to `onCertificate`. Call once, after setting `onCertificate`. Returns how
   * many there were.
   */
  recover(): number {
    const recovered = this.o.store.takeRecovered();
    for (const c of recovered) this.accept(c, false);
    return recovered.length;
  }

  /** Round of our latest header. */
  get round(): number {
    return this.proposer.currentRound;
  }

  // -- proposing ------------------------------------------------------------------------------

  private async propose(round: number, parents: Certificate[], payload: Digest[]): Promise<void> {
    // Batches of a header of ours that was never certified go into this one instead. Its votes
    // are no longer collected (current is cleared before the write below, during which votes
    // still arrive): a certificate formed now would let both headers commit.
    if (this.current) {
      const have = new Set(payload.map(hex));
      // First, as they are older: a client's transactions commit in the order it sent them.
      payload.unshift(...this.ownBatches.superseded(this.current.header.round).filter((d) => !have.has(hex(d))));
      this.current = undefined;
      // Peers refuse a header above the cap, which would then move, larger, into every next one:
      // what does not fit waits at the front of the queue for the next header.
      if (payload.length > this.o.maxHeaderBatches) this.proposer.requeue(payload.splice(this.o.maxHeaderBatches));
    }
    this.ownBatches.proposed(round, payload);
    const header = signHeader(
      { epoch: this.committee.epoch, round, author: this.o.me, createdAt: Date.now(), payload, parents: parents.map((c) => c.digest) },
      this.o.key,
      this.committee.domain,
    );
    await this.o.store.recordOwnHeader(header);
    this.current = { header, signatures: new Map(), certified: false, sentAt: performance.now() };
    this.log.debug("proposed", { round, batches: payload.length, parents: parents.length });
    this.o.network.broadcast(encodePrimary({ kind: "header", header }));
    await this.processHeader(header, this.o.me);
  }

  private tick(): void {
    const now = performance.now();
    const c = this.current;
    if (c && !c.certified && now - c.sentAt >= this.o.headerResendMs) {
      c.sentAt = now;
      this.o.network.broadcast(encodePrimary({ kind: "header", header: c.header }));
      void this.processHeader(c.header, this.o.me); // after a restart our own vote may be missing too
    }
    this.catchUp(this.randomPeer());
    const retry: Digest[] = [];
    for (const [key, at] of this.requested) {
      if (now - at >= this.o.syncRetryMs) {
        this.requested.set(key, now);
        retry.push(Buffer.from(key, "hex"));
      }
    }
    if (retry.length > 0) this.o.network.send(this.randomPeer(), encodePrimary({ kind: "certificates-request", digests: retry.slice(0, 1000) }));
  }

  private randomPeer(): AuthorityIndex {
    const peers = [...this.committee.members.keys()].filter((i) => i !== this.o.me);
    return peers[Math.floor(Math.random() * peers.length)];
  }

  /** Highest round of the DAG we hold (the GC round when it holds nothing above it). */
  private highestRound(): number {
    let high = this.gcRound;
    for (const r of this.dag.keys()) high = Math.max(high, r);
    return high;
  }

  /**
   * Catch-up by round range (docs/consensus.md "Catch-up"): when a certificate waits for parents
   * more than one round above the DAG we hold, we are behind, and walking parents one round per
   * round trip (and past what peers keep in memory) would not end; so ask `peer` for the rounds
   * from the highest we hold on. The next range is asked once the previous one arrived, or after
   * `syncRetryMs`.
   */
  private catchUp(peer: AuthorityIndex): void {
    let target = 0;
    let lowest = Infinity;
    for (const certs of this.parkedCerts.values())
      for (const c of certs) {
        target = Math.max(target, c.header.round);
        lowest = Math.min(lowest, c.header.round);
      }
    // From the round of the lowest missing parent (one below the lowest parked certificate) when
    // that is below the highest round we hold: a restart can leave a round we hold partly, whose
    // missing certificate a later one needs, and peers answer requests by digest from memory only
    // (rounds above their GC), so a range starting above it would never bring it.
    const from = Math.max(this.gcRound + 1, Math.min(this.highestRound(), lowest - 1));
    if (target <= from + 1) return;
    const now = performance.now();
    if (now - this.rangeAsked.at < this.o.syncRetryMs && from < this.rangeAsked.to) return;
    const to = Math.min(target - 1, from + RANGE_ROUNDS - 1);
    this.rangeAsked = { at: now, to };
    this.log.info("catching up by round range", { peer, from, to, target });
    this.o.network.send(peer, encodePrimary({ kind: "certificates-range", from, to }));
  }

  // -- messages -------------------------------------------------------------------------------

  private onFrame(from: AuthorityIndex, frame: Buffer): void {
    let m: PrimaryMessage;
    try {
      m = decodePrimary(frame);
    } catch (err) {
      this.log.warn("malformed primary message", { from, err: String(err) });
      return;
    }
    switch (m.kind) {
      case "header": {
        if (from !== this.o.me) {
          const bad =
            m.header.author !== from
              ? `header of ${m.header.author} sent by ${from}`
              : m.header.payload.length > this.o.maxHeaderBatches
                ? `payload of ${m.header.payload.length} batches above ${this.o.maxHeaderBatches}`
                : m.header.createdAt > Date.now() + MAX_CLOCK_SKEW_MS
                  ? `created ${m.header.createdAt - Date.now()} ms in the future`
                  : checkHeader(m.header, this.committee);
          if (bad) {
            this.log.warn("header rejected", { from, round: m.header.round, reason: bad });
            return;
          }
        }
        void this.processHeader(m.header, from);
        break;
      }
      case "vote":
        this.processVote(m.vote, from);
        break;
      case "certificate":
        this.processCertificate(m.certificate, from);
        break;
      case "certificates":
        for (const c of [...m.certificates].sort((a, b) => a.header.round - b.header.round)) this.processCertificate(c, from);
        this.catchUp(from);
        break;
      case "certificates-range": {
        // While more than a reply is still queued for this peer, asking again costs no disk read:
        // what one peer makes us read is bounded by what it drains (docs/consensus.md "Catch-up").
        if (this.o.network.pending(from) > this.o.maxFrame || m.to < m.from) break;
        const found = this.o.store.certificatesInRounds(m.from, Math.min(m.to, m.from + RANGE_ROUNDS - 1), this.o.maxFrame, 4 * this.o.maxFrame);
        for (const f of encodeCertificateReplies(found, this.o.maxFrame / 2)) this.o.network.send(from, f);
        break;
      }
      case "certificates-request": {
        const found = m.digests.flatMap((d) => this.o.store.getCertificate(d) ?? []);
        // Half a frame each: the frame also carries the tag and count, and slack costs nothing.
        for (const f of encodeCertificateReplies(found, this.o.maxFrame / 2)) this.o.network.send(from, f);
        break;
      }
    }
  }

  /** The vote rule (docs/consensus.md "Narwhal: vote rule"), persisted so that a restart never votes twice. */
  private async processHeader(h: Header, from: AuthorityIndex): Promise<void> {
    if (h.round <= this.gcRound) return;
    const missing = h.parents.filter((p) => !this.known(p));
    if (missing.length > 0) {
      const waiting = this.waitingHeaders.get(h.author);
      if (!waiting || waiting.header.round < h.round) {
        this.waitingHeaders.set(h.author, { header: h, from, missing: new Set(missing.map(hex)) });
        this.request(missing, from);
      }
      return;
    }
    const parents = h.parents.map((p) => this.lookup(p)!);
    const authors = new Set(parents.map((p) => p.header.author));
    if (parents.some((p) => p.header.round !== h.round - 1) || authors.size !== parents.length) {
      this.log.warn("header rejected", { from, round: h.round, reason: "parents not from distinct authors of round-1" });
      return;
    }
    if (this.committee.weightOf(authors) < this.committee.quorumThreshold) {
      this.log.warn("header rejected", { from, round: h.round, reason: "parents below quorum" });
      return;
    }
    if (h.author !== this.o.me && !(await this.o.worker.fetch(h.payload, h.author, { round: h.round }))) {
      this.log.debug("header payload not fetched, no vote", { author: h.author, round: h.round });
      return;
    }

    const last = this.o.store.lastVote(h.author);
    if (last && last.round > h.round) return;
    if (last && last.round === h.round && !last.headerId.equals(h.id)) {
      this.log.warn("equivocating header refused", { author: h.author, round: h.round });
      return;
    }
    if (!last || last.round !== h.round) await this.o.store.recordVote(h.author, h.round, h.id);
    // The same header again, possibly while the first vote's record is still being fsynced: the
    // vote may leave only once that record is durable.
    else await this.o.store.votesDurable();
    const vote = signVote(h, this.o.me, this.o.key, this.committee.domain);
    if (h.author === this.o.me) this.processVote(vote, this.o.me);
    else this.o.network.send(h.author, encodePrimary({ kind: "vote", vote }));
  }

  private processVote(v: Vote, from: AuthorityIndex): void {
    const c = this.current;
    if (!c || c.certified) return;
    if (v.voter !== from || v.origin !== this.o.me || v.round !== c.header.round || !v.headerId.equals(c.header.id)) return;
    if (c.signatures.has(v.voter)) return;
    if (from !== this.o.me && !verifyVote(v, this.committee)) {
      this.log.warn("bad vote signature", { from });
      return;
    }
    c.signatures.set(v.voter, v.signature);
    if (this.committee.weightOf(c.signatures.keys()) < this.committee.quorumThreshold) return;
    c.certified = true;
    this.ownBatches.certified(c.header.round);
    const cert = makeCertificate(
      c.header,
      [...c.signatures].map(([voter, signature]) => ({ voter, signature })),
    );
    this.o.network.broadcast(encodePrimary({ kind: "certificate", certificate: cert }));
    this.processCertificate(cert, this.o.me);
  }

  private processCertificate(c: Certificate, from: AuthorityIndex): void {
    if (c.header.round <= this.gcRound || this.o.store.hasCertificate(c.digest)) return;
    if (from !== this.o.me) {
      const key = hash(encodeCertificate(c)).toString("hex");
      if (this.rejected.has(key)) return;
      const bad = checkCertificate(c, this.committee);
      if (bad) {
        this.log.warn("certificate rejected", { from, round: c.header.round, reason: bad });
        if (this.rejected.size >= REJECTED_CERTIFICATES) this.rejected.delete(this.rejected.values().next().value!);
        this.rejected.add(key);
        return;
      }
    }
    // Parents at or below the GC round are never needed again.
    const missing = c.header.round > this.gcRound + 1 ? c.header.parents.filter((p) => !this.known(p)) : [];
    if (missing.length > 0) {
      for (const p of missing) this.park(p, c);
      this.request(missing, from);
      this.catchUp(from);
      return;
    }
    this.accept(c, true);
  }

  /** Stores a certificate whose parents are all present and passes it on. */
  private accept(c: Certificate, store: boolean): void {
    if (store) this.o.store.putCertificate(c);
    // Our current header certified before a restart lost its certificate: a peer had it, so stop
    // collecting votes (OwnBatches already counts it as maybe certified).
    if (this.current && !this.current.certified && c.header.author === this.o.me && c.header.id.equals(this.current.header.id)) this.current.certified = true;
    this.requested.delete(hex(c.digest));
    this.insert(c);
    if (c.header.author !== this.o.me) void this.o.worker.fetch(c.header.payload, c.header.author);
    this.onCertificate(c);
    this.wake(hex(c.digest));
  }

  /** Adds a certificate to the DAG and feeds the proposer once its round has a quorum. */
  private insert(c: Certificate): void {
    const { round, author } = c.header;
    let byAuthor = this.dag.get(round);
    if (!byAuthor) this.dag.set(round, (byAuthor = new Map()));
    if (byAuthor.has(author)) return;
    byAuthor.set(author, c);
    const weight = this.committee.weightOf(byAuthor.keys());
    if (weight < this.committee.quorumThreshold) return;
    const quorumJustReached = weight - this.committee.weight(author) < this.committee.quorumThreshold;
    this.proposer.addParents(round, quorumJustReached ? [...byAuthor.values()] : [c]);
  }

  private wake(key: string): void {
    const certs = this.parkedCerts.get(key);
    this.parkedCerts.delete(key);
    for (const c of certs ?? []) this.processCertificate(c, this.o.me); // already verified when parked
    for (const [author, w] of this.waitingHeaders) {
      if (!w.missing.delete(key) || w.missing.size > 0) continue;
      this.waitingHeaders.delete(author);
      void this.processHeader(w.header, w.from);
    }
  }

  private park(missing: Digest, c: Certificate): void {
    const key = hex(missing);
    const list = this.parkedCerts.get(key);
    if (list) list.push(c);
    else this.parkedCerts.set(key, [c]);
  }

  private request(digests: Digest[], from: AuthorityIndex): void {
    const now = performance.now();
    const ask = digests.filter((d) => !this.requested.has(hex(d)));
    for (const d of ask) this.requested.set(hex(d), now);
    const target = from === this.o.me ? (this.o.me + 1) % this.committee.size : from;
    if (ask.length > 0) this.o.network.send(target, encodePrimary({ kind: "certificates-request", digests: ask }));
  }

  private known(d: Digest): boolean {
    return this.genesis.has(hex(d)) || this.o.store.hasCertificate(d);
  }

  private lookup(d: Digest): Certificate | undefined {
    return this.genesis.get(hex(d)) ?? this.o.store.getCertificate(d);
  }

  /**
   * Called with each committed sub-DAG, in order. The batches of own headers that can no longer
   * be committed (see {@link OwnBatches}) go into a new header.
   */
  onCommitted(leaderRound: number, certificates: Certificate[]): void {
    const requeue = this.ownBatches.committed(leaderRound, certificates);
    if (requeue.length > 0) {
      this.log.debug("re-proposing uncommitted own batches", { batches: requeue.length });
      this.proposer.requeue(requeue);
    }
  }

  /** Garbage-collects below `gcRound` (from consensus): DAG rounds and waits that can no longer matter. */
  setGcRound(gcRound: number): void {
    if (gcRound <= this.gcRound) return;
    this.gcRound = gcRound;
    this.o.worker.setRounds(gcRound, this.round);
    for (const r of this.dag.keys()) if (r <= gcRound) this.dag.delete(r);
    // Certificates further below are only needed to serve lagging peers, which ask by round
    // range, read from disk.
    this.o.store.pruneBelow(gcRound - this.o.gcDepth);
    for (const [key, certs] of this.parkedCerts) {
      const live = certs.filter((c) => c.header.round > gcRound);
      if (live.length === 0) this.parkedCerts.delete(key);
      else this.parkedCerts.set(key, live);
      // A parked certificate right above the GC round no longer needs its parents.
      for (const c of live) if (c.header.round === gcRound + 1) this.processCertificate(c, this.o.me);
    }
    for (const [author, w] of this.waitingHeaders) if (w.header.round <= gcRound) this.waitingHeaders.delete(author);
    const stillWanted = new Set([...this.waitingHeaders.values()].flatMap((w) => [...w.missing]));
    for (const [key] of this.requested) {
      if (!this.parkedCerts.has(key) && !stillWanted.has(key)) this.requested.delete(key);
    }
  }

  /** Stops timers. */
  stop(): void {
    this.proposer.stop();
    clearInterval(this.timer);
  }
}
