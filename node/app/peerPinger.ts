import type { Logger } from "../logger";
import type { PeerReport } from "./appTransactions";
import type { RegistryPeerDirectory } from "../peerfetch/registryPeerDirectory";

interface PeerStats {
  pings: number;
  answered: number;
  /** Sum of round-trip times of answered pings (ms). */
  rttMs: number;
  bytes: number;
}

/**
 * Measures the other active nodes (docs/consensus.md "Fleek's own node", reputation): every
 * `intervalMs` a `GET /health` to each peer's gateway. Latency is the mean RTT/2 of answered
 * pings, uptime the percent answered, interactions answered minus failed pings, bytesReceived
 * what they sent back. {@link take} hands the epoch's figures over and starts afresh.
 */
export class PeerPinger {
  private stats = new Map<number, PeerStats>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly directory: RegistryPeerDirectory,
    private readonly logger: Logger,
    private readonly intervalMs = 5_000,
    private readonly timeoutMs = 2_000,
  ) {}

  /** Starts pinging. */
  start(): void {
    const round = async () => {
      await this.pingAll().catch((err) => this.logger.warn("ping round failed", { err: String(err) }));
      if (this.timer) this.timer = setTimeout(() => void round(), this.intervalMs);
    };
    this.timer = setTimeout(() => void round(), 0);
  }

  /** Stops pinging. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One ping to every peer (also used directly by tests). */
  async pingAll(): Promise<void> {
    await Promise.all((await this.directory.peers()).map((p) => this.ping(p.id, p.gatewayUrl)));
  }

  private async ping(id: number, url: string): Promise<void> {
    const s = this.stats.get(id) ?? { pings: 0, answered: 0, rttMs: 0, bytes: 0 };
    this.stats.set(id, s);
    s.pings++;
    const started = performance.now();
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
      const body = Buffer.from(await res.arrayBuffer());
      if (!res.ok) return;
      s.answered++;
      s.rttMs += performance.now() - started;
      s.bytes += body.length;
    } catch {
      // unanswered: counts against uptime
    }
  }

  /** The measurements since the last call, one per pinged peer, and a fresh start. */
  take(): PeerReport[] {
    const reports: PeerReport[] = [];
    for (const [peer, s] of [...this.stats].sort((a, b) => a[0] - b[0])) {
      if (s.pings === 0) continue;
      const r: PeerReport = { peer, uptime: (100 * s.answered) / s.pings, interactions: 2 * s.answered - s.pings, bytesReceived: s.bytes };
      if (s.answered > 0) r.latency = s.rttMs / s.answered / 2;
      reports.push(r);
    }
    this.stats = new Map();
    return reports;
  }
}
