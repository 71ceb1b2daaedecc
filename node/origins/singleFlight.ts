/**
 * Shares one run of an async task among all callers asking for the same key while it is in
 * flight: concurrent requests for the same content cause one origin or peer fetch, not many.
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  /** Runs `task` unless a run for `key` is already under way, whose result is then shared. */
  run(key: string, task: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = task().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }
}
