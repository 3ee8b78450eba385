export const STAT_NAMES = ["delivered", "temporaryFailures", "permanentFailures", "dead", "expired", "cancelled", "conflicts"] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type StatCounts = Record<StatName, number>;

export interface WorkerStatsSnapshot extends StatCounts {
  byChannel: Record<string, StatCounts>;
}

const zero = (): StatCounts => ({
  delivered: 0,
  temporaryFailures: 0,
  permanentFailures: 0,
  dead: 0,
  expired: 0,
  cancelled: 0,
  conflicts: 0,
});

/**
 * Counters a worker keeps since it started. Temporary failures (retried) and permanent ones
 * (dead-lettered at once) are counted apart, as Alertmanager users asked for.
 */
export class WorkerStats {
  private readonly total = zero();
  private readonly channels = new Map<string, StatCounts>();

  add(channel: string, name: StatName): void {
    this.total[name] += 1;
    let c = this.channels.get(channel);
    if (!c) this.channels.set(channel, (c = zero()));
    c[name] += 1;
  }

  snapshot(): WorkerStatsSnapshot {
    return { ...this.total, byChannel: Object.fromEntries([...this.channels].map(([k, v]) => [k, { ...v }])) };
  }
}
