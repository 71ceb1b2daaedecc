/**
 * Defaults of the registry's governance parameters (docs/spec.md §5). The Ignition module deploys with
 * these; the node and the indexer read the live values from the chain.
 */
export const REGISTRY_DEFAULTS = {
  /** 1,000 FLK. */
  minimumStake: 1_000n * 10n ** 18n,
  /** One day (Base); devnets pass seconds. */
  epochDuration: 86_400n,
  /** Beacon reveals after each epoch's end, before the report: 10 minutes. */
  revealDuration: 600n,
  committeeSize: 32n,
  /** 100% of the minimum stake, burned from a beacon non-revealer. */
  slashAmount: 1_000n * 10n ** 18n,
  /** Clients announce a USDC withdrawal this long before making it: 2 days (two daily reports). */
  noticePeriod: 2n * 86_400n,
} as const;

/** Largest stake lock, in epochs (NodeStaking.MAX_LOCK_EPOCHS). */
export const MAX_LOCK_EPOCHS = 1460n;
/** Nodes below this uptime percentage leave the active set (NodeRegistry.MIN_UPTIME). */
export const MIN_UPTIME = 40;
