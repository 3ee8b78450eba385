// @ops/health: what the HTTP handler costs on top of a bare handler when the report is cached,
// and what running checks in parallel saves over running them one after another.
import {
  createFetchHandler,
  createHealth,
  respondToHealthRequest,
  runHealthChecks,
  type HealthCheck,
  type HealthRequest,
} from "@ops/health";
import { measureOps, percentile, type BenchCase, type BenchRow } from "../types.js";

const bench: BenchCase = {
  name: "health",
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const n = quick ? 20_000 : 100_000;
    const runs = quick ? 3 : 5;

    // 1. Fetch handler throughput with a cached readiness report (the probe hot path).
    const health = createHealth({
      checks: [
        { name: "db", run: () => ({ ok: true, observedValue: 1.2, observedUnit: "ms" }) },
        { name: "cache", critical: false, run: () => true },
      ],
      liveness: [],
      cacheTtlMs: 3_600_000,
      service: { serviceId: "bench" },
    });
    const handler = createFetchHandler(health);
    const url = "http://127.0.0.1/readyz";
    await handler(new Request(url));
    const bareHeaders = { "content-type": "application/health+json", "cache-control": "no-store" };
    const bare = async (_req: Request) =>
      new Response(JSON.stringify({ status: "pass", serviceId: "bench" }), { status: 200, headers: bareHeaders });
    // Interleaved runs: on a shared machine the load drifts, and back-to-back blocks would bias the ratio.
    const ours: number[] = [];
    const floor: number[] = [];
    for (let r = 0; r < runs; r++) {
      ours.push(
        await measureOps(n, 1, async (k) => {
          for (let i = 0; i < k; i++) await (await handler(new Request(url)))!.text();
        }),
      );
      floor.push(
        await measureOps(n, 1, async (k) => {
          for (let i = 0; i < k; i++) await (await bare(new Request(url))).text();
        }),
      );
    }
    const oursRate = median(ours);
    const bareRate = median(floor);
    const group = "health: fetch handler, cached readiness report (in process)";
    rows.push({
      group,
      subject: "@ops/health createFetchHandler",
      opsPerSec: oursRate,
      ours: true,
      note: `${n} requests x ${runs}, median`,
    });
    rows.push({ group, subject: "bare fetch handler (static JSON)", opsPerSec: bareRate, note: "floor: Request + Response only" });
    // Our own cost without the fetch API's Request/Response objects (what node/Express/Fastify pay).
    const req: HealthRequest = { method: "GET", path: "/readyz", query: new URLSearchParams(), header: () => undefined };
    const coreRate = await measureOps(n * 5, runs, async (k) => {
      for (let i = 0; i < k; i++) await respondToHealthRequest(health, "readiness", req);
    });
    rows.push({
      group: "health: framework-neutral core, cached report",
      subject: "@ops/health respondToHealthRequest",
      opsPerSec: coreRate,
      ours: true,
      note: "no Request/Response objects",
    });
    health.close();

    // 2. Five checks of 20 ms: parallel (ours) vs one after another (Spring Boot's model).
    const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const checks: HealthCheck[] = Array.from({ length: 5 }, (_, i) => ({ name: `dep${i}`, run: async () => (await delay(20), true) }));
    const reps = quick ? 10 : 30;
    const par: number[] = [];
    const seq: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      await runHealthChecks("bench", checks);
      par.push(performance.now() - t0);
      t0 = performance.now();
      for (const c of checks) await c.run({ signal: new AbortController().signal });
      seq.push(performance.now() - t0);
    }
    par.sort((a, b) => a - b);
    seq.sort((a, b) => a - b);
    const g2 = "health: 5 checks of 20 ms each, report latency";
    rows.push({
      group: g2,
      subject: "@ops/health runHealthChecks (parallel)",
      p50Ms: percentile(par, 50),
      p99Ms: percentile(par, 99),
      ours: true,
      note: `${reps} runs`,
    });
    rows.push({
      group: g2,
      subject: "sequential loop (Spring Boot model)",
      p50Ms: percentile(seq, 50),
      p99Ms: percentile(seq, 99),
      note: `${reps} runs`,
    });
    return rows;
  },
};

export default bench;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
