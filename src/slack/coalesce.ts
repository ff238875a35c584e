/**
 * Coalesces bursts of "something changed" into at most one run of `fn` per
 * interval: the first change runs at once, later ones within the interval wait
 * and share one run, which reads the latest state. Slack allows about one
 * message per second per channel, so live edits of a root message go through this.
 * `flush()` drops a pending run and waits for the one in flight, so a final
 * edit after it can never be overtaken by a stale one.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: run now, or once the interval since the last run is over. */
  poke(): void {
    if (this.closed || this.timer) return;
    const wait = Math.max(0, this.lastRunAt + this.intervalMs - this.now());
    if (wait === 0 && !this.inFlight) {
      this.run();
      return;
    }
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (this.inFlight) this.inFlight.finally(() => this.poke());
        else this.run();
      },
      Math.max(wait, 1),
    );
  }

  /** Stops further runs and waits for the one in flight. */
  async flush(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private run(): void {
    this.lastRunAt = this.now();
    this.inFlight = this.fn()
      .catch(this.onError)
      .finally(() => {
        this.inFlight = null;
      });
  }
}
