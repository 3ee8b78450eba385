// Nothing lost across outages (#21 item 3), the full runs: the example service as two child
// processes, a failed-login spike posted while PostgreSQL is unreachable (loopback proxy) or while
// its Redis is down and comes back EMPTY, for 20 s each (`--quick`: 5 s). Reports what was
// acknowledged and counted, when the incident was raised after recovery, and how long a flag
// change took to reach the other instance after recovery.
import {
  buildServerBundle,
  freshDatabase,
  type OutageResult,
  pgOutage,
  redisOutage,
  requireService,
  testPgAdminUrl,
} from "../../../examples/server/test/outage-harness.js";
import type { BenchCase, BenchRow } from "../types.js";

function row(group: string, r: OutageResult): BenchRow {
  const lost = r.spike.acknowledged - Math.min(r.counts.stored, r.counts.counted);
  return {
    group,
    subject: "@ops example service",
    ours: true,
    p50Ms: r.propagationAfterRecoveryMs,
    note:
      `acknowledged ${r.spike.acknowledged}, refused ${r.spike.refused}, other ${r.spike.other.length}; ` +
      `stored ${r.counts.stored}, counted ${r.counts.counted} (lost ${lost}); crossings ${r.counts.crossings}; ` +
      `incident raised ${r.raisedS} s / mitigated ${r.mitigatedS} s / notified ${r.notifiedS} s after recovery; ` +
      `flag change seen by B ${r.propagationAfterRecoveryMs} ms after recovery (A's write took ${r.writeAfterRecoveryMs} ms; B saw it ${r.propagationAfterWriteMs} ms after it answered)` +
      (r.resubscribedMs !== undefined ? `; both Redis subscriptions back ${r.resubscribedMs} ms after the empty restart` : "") +
      (r.badFlags.length ? `; BAD FLAG ANSWERS ${r.badFlags.length}` : "; no null/ERROR flag answers"),
  };
}

const outage: BenchCase = {
  name: "outage",
  async run({ quick }) {
    const outageMs = quick ? 5_000 : 20_000;
    if (!(await requireService("postgres").catch(() => false)))
      return [{ group: "outage", subject: "@ops example service", note: "skipped: PostgreSQL not reachable", ours: true }];
    const bundle = await buildServerBundle();
    const rows: BenchRow[] = [];
    try {
      for (const [name, run] of [
        ["PostgreSQL unreachable", pgOutage],
        ["Redis down, restarted empty", redisOutage],
      ] as const) {
        const db = await freshDatabase();
        try {
          const r = await run({ bundle: bundle.path, databaseUrl: db.url, adminUrl: testPgAdminUrl(), outageMs });
          process.stderr.write(`outage: ${name}: ${JSON.stringify({ ...r, spike: { ...r.spike, other: r.spike.other.slice(0, 3) } })}\n`);
          rows.push(row(`outage: ${name} ${outageMs / 1000} s (p50 = propagation ms after recovery)`, r));
        } finally {
          await db.drop();
        }
      }
    } finally {
      bundle.remove();
    }
    return rows;
  },
};
export default outage;
