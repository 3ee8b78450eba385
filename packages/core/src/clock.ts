/** Where time comes from. Inject a `ManualClock` in tests instead of faking timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** The same instant as a Date. */
  date(): Date;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  date: () => new Date(),
};

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: number | Date | string = 0) {
    this.ms = typeof start === "number" ? start : new Date(start).getTime();
    if (!Number.isFinite(this.ms)) throw new RangeError("[ops/core] ManualClock: start must be a valid time");
  }

  now(): number {
    return this.ms;
  }

  date(): Date {
    return new Date(this.ms);
  }

  /** Moves the clock forward by `ms` (never backwards). */
  advance(ms: number): this {
    if (!(ms >= 0)) throw new RangeError("[ops/core] ManualClock.advance: ms must be >= 0");
    this.ms += ms;
    return this;
  }

  set(to: number | Date | string): this {
    this.ms = typeof to === "number" ? to : new Date(to).getTime();
    return this;
  }
}
