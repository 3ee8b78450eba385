export interface RateLimit {
  /** Sustained sends per second (Slack ~1, PagerDuty ~2 = 120/min per key). */
  perSecond: number;
  /** Sends allowed at once after a quiet period (default: max(1, perSecond)). */
  burst?: number;
}

/** Token buckets per channel, driven by the caller's clock. */
export class ChannelRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; pausedUntil: number }>();

  constructor(private readonly limits: Readonly<Record<string, RateLimit>>) {
    for (const [channel, l] of Object.entries(limits))
      if (!(l.perSecond > 0) || (l.burst !== undefined && !(l.burst >= 1)))
        throw new RangeError(`[ops/notify] invalid rateLimits.${channel}: expected perSecond > 0 and burst >= 1`);
  }

  private bucket(channel: string, now: number) {
    const limit = this.limits[channel];
    if (!limit) return undefined;
    const burst = limit.burst ?? Math.max(1, limit.perSecond);
    let b = this.buckets.get(channel);
    if (!b) {
      b = { tokens: burst, at: now, pausedUntil: 0 };
      this.buckets.set(channel, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    return b;
  }

  /** How many sends `channel` may start now (up to `want`); takes those tokens. */
  take(channel: string, now: number, want: number): number {
    const b = this.bucket(channel, now);
    if (!b) return this.paused(channel, now) ? 0 : want;
    if (b.pausedUntil > now) return 0;
    const n = Math.min(want, Math.floor(b.tokens));
    b.tokens -= n;
    return n;
  }

  /** Gives back tokens taken for sends that did not happen (fewer messages were due). */
  refund(channel: string, n: number): void {
    const b = this.buckets.get(channel);
    if (b && n > 0) b.tokens += n;
  }

  /** Holds a channel after the receiver said 429 + Retry-After, limited or not. */
  pause(channel: string, until: number): void {
    const b = this.buckets.get(channel) ?? { tokens: 0, at: until, pausedUntil: 0 };
    b.pausedUntil = Math.max(b.pausedUntil, until);
    this.buckets.set(channel, b);
  }

  private paused(channel: string, now: number): boolean {
    const b = this.buckets.get(channel);
    return b !== undefined && b.pausedUntil > now;
  }
}
