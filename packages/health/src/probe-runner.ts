import { executeChecks, type ExecuteOptions } from "./run-checks.js";
import type { HealthCheck, HealthReport, ProbeKind } from "./types.js";

/**
 * Runs one probe's checks with a result cache: within `ttlMs` of the last completed run callers
 * get that report; past it, the first caller starts a run and every concurrent caller shares the
 * same in-flight promise, so a storm of probes costs the dependencies one round of checks.
 * While background polling is on, callers always get the latest polled report.
 */
export class ProbeRunner {
  private last: HealthReport | undefined;
  private lastPromise: Promise<HealthReport> | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<HealthReport> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  // Bumped by start/stop so a tick of an earlier polling loop never reschedules itself.
  private pollGeneration = 0;
  private runs = 0;

  constructor(
    readonly probe: ProbeKind,
    private readonly checks: readonly HealthCheck[],
    private readonly ttlMs: number,
    private readonly exec: ExecuteOptions,
    private readonly env: string | undefined,
    /** Called after a run whose status differs from the previous run's (the first run counts as a change). */
    private readonly onChange?: (previous: HealthReport | undefined, report: HealthReport) => void,
  ) {}

  /** How many times the checks actually ran (cache misses). */
  get runCount(): number {
    return this.runs;
  }

  /** The last completed report, if any, without running anything. */
  get latest(): HealthReport | undefined {
    return this.last;
  }

  /** The cached report when fresh (or polled), else a shared run. Never rejects. */
  get(): Promise<HealthReport> {
    if (this.lastPromise !== undefined && (this.polling || this.exec.clock.now() - this.lastAt < this.ttlMs)) return this.lastPromise;
    return this.refresh();
  }

  /** Runs now, ignoring the cache, unless a run is already in flight (then shares it). */
  refresh(): Promise<HealthReport> {
    if (this.inflight !== undefined) return this.inflight;
    this.runs++;
    const run = executeChecks(this.checks, this.exec)
      .then((report) => {
        report.probe = this.probe;
        if (this.env !== undefined) report.env = this.env;
        const previous = this.last;
        this.last = report;
        this.lastAt = this.exec.clock.now();
        this.lastPromise = Promise.resolve(report);
        if (this.onChange && previous?.status !== report.status) this.onChange(previous, report);
        return report;
      })
      .finally(() => {
        // Cleared whatever happens, so one broken run can never wedge every later caller.
        this.inflight = undefined;
      });
    this.inflight = run;
    return run;
  }

  /** Re-runs every `intervalMs` in the background (first run now). The timer never keeps the process alive. */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    this.polling = true;
    const generation = this.pollGeneration;
    const tick = () => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => {
          if (generation !== this.pollGeneration) return;
          this.pollTimer = setTimeout(tick, intervalMs);
          this.pollTimer.unref();
        });
    };
    tick();
  }

  stopPolling(): void {
    this.polling = false;
    this.pollGeneration++;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** Drops the cached report (the next `get()` runs the checks). */
  invalidate(): void {
    this.lastPromise = undefined;
    this.lastAt = Number.NEGATIVE_INFINITY;
  }
}
