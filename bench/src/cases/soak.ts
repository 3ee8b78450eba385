// Soak (#21 item 6): the example service (its own main.ts, a child process) under moderate mixed
// load — flag evaluations, flag writes and tenant overrides, signal batches with a failed-login
// spike now and then (detected, raised, resolved by an operator), incident and audit reads — for
// 10 minutes (--quick: 60 s) on PGlite, PostgreSQL and PostgreSQL + Redis. Every 10 s the service
// reports its RSS, its heap after a full GC and its event-loop delay p99 (a preloaded probe,
// lib/soak-probe.ts). The verdict fits a line through the last half of the samples: a heap or RSS
// that still grows there (more than 1 MB/min and 10% over the half for the heap, 4 MB/min and 10%
// for RSS) is GROWTH, printed loudly and the run exits 1.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { tcpUp } from "../lib/scale.js";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const main = join(root, "examples", "server", "src", "main.ts");
const probe = join(root, "bench", "src", "lib", "soak-probe.ts");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const PG_URL = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const PG_ADMIN_URL = process.env.OPS_TEST_PG_ADMIN_URL || PG_URL;
const SAMPLE_MS = 10_000;
const TENANTS = Array.from({ length: 20 }, (_, i) => `soak${i}`);
/** Requests in flight at once, and the pause between two of one worker: ~40-80 requests/s. */
const WORKERS = 4;
const PAUSE_MS = 50;

interface Sample {
  atS: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  eldP99Ms: number;
  eldMaxMs: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Our own redis-server on a free port (never the shared 6379), stopped by its pid. */
async function ownRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await tcpUp(url, port)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ops_soak_crashsoak_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const owner = decodeURIComponent(new URL(PG_URL).username || "postgres");
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" OWNER "${owner.replace(/"/g, '""')}"`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Starts the service's main.ts with the probe; resolves with its base URL once it listens. */
function startService(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(main, [], {
      cwd: join(root, "examples", "server"),
      execPath: process.execPath,
      execArgv: [tsx, "--conditions=@ops/source", "--expose-gc", "--import", probe],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        HOST: "127.0.0.1",
        PORT: "0",
        OPS_ENV: "soak",
        OPS_TICK_MS: "2000",
        OPS_BUCKET_MS: "10000",
        OPS_GROUP_WAIT_MS: "0",
        OPS_DRAIN_MS: "0",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`the service did not start in 120 s: ${err.slice(-2000)}`)), 120_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      if (out.length < 100_000) out += d;
      const m = /"event":"listening"[^\n]*"url":"([^"]+)"/.exec(out) ?? /"url":"([^"]+)"[^\n]*"event":"listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1]! });
        out = "";
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err = (err + d).slice(-20_000);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

function sample(child: ChildProcess): Promise<Omit<Sample, "atS" | "requests" | "errors" | "p50Ms" | "p99Ms">> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no sample from the service in 30 s")), 30_000);
    child.once("message", (m) => {
      clearTimeout(t);
      resolve(m as Omit<Sample, "atS" | "requests" | "errors" | "p50Ms" | "p99Ms">);
    });
    child.send("sample");
  });
}

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

/** One request of the mix; resolves with its HTTP status (0: no answer). */
async function oneRequest(base: string, n: number): Promise<number> {
  const tenant = pick(TENANTS, n * 7 + (n >> 4));
  const asTenant = { "x-ops-actor": "soak-operator", "x-ops-roles": "operator", "x-tenant-id": tenant, "content-type": "application/json" };
  const asApp = { "x-ops-actor": "soak-app", "x-ops-roles": "", "x-tenant-id": tenant, "content-type": "application/json" };
  const asAdmin = { "x-ops-actor": "soak-admin", "x-ops-roles": "admin", "x-ops-scope": "global", "content-type": "application/json" };
  const flag = `soak_flag_${n % 8}`;
  const r = n % 100;
  let path: string;
  let init: RequestInit;
  if (r < 35) {
    path = `/ops/api/v1/flags/${flag}/evaluate`;
    init = { method: "POST", headers: asTenant, body: JSON.stringify({ context: { userId: `u${n % 1000}` } }) };
  } else if (r < 40) {
    path = `/ops/api/v1/flags/${flag}/value`;
    init = { method: "PUT", headers: asAdmin, body: JSON.stringify({ value: n % 3 === 0, reason: `soak ${n}` }) };
  } else if (r < 44) {
    path = `/ops/api/v1/flags/${flag}/overrides/${tenant}`;
    init = { method: "PUT", headers: asTenant, body: JSON.stringify({ value: n % 2 === 0, reason: `soak override ${n}` }) };
  } else if (r < 75) {
    // 20 signals; every 50th batch a spike (12 failures of one account from one IP) that detection raises.
    const spike = n % 50 === 0;
    const events = Array.from({ length: 20 }, (_, j) =>
      spike && j < 12
        ? { type: "LOGIN_FAILED", userId: `victim${n}`, ip: "203.0.113.7" }
        : { type: j % 3 === 0 ? "LOGIN_FAILED" : "LOGIN_SUCCEEDED", userId: `u${(n * 20 + j) % 5000}`, ip: `10.1.${j}.${n & 255}` },
    );
    path = "/api/signals";
    init = { method: "POST", headers: asApp, body: JSON.stringify({ events }) };
  } else if (r < 85) {
    path = "/ops/api/v1/incidents?state=open,acknowledged,mitigated&limit=20";
    init = { method: "GET", headers: asTenant };
  } else if (r < 95) {
    path = "/ops/api/v1/audit?limit=20";
    init = { method: "GET", headers: asTenant };
  } else {
    // An operator resolves the tenant's oldest active incident (so incidents come and go).
    const list = await fetch(`${base}/ops/api/v1/incidents?state=open,acknowledged,mitigated&limit=1`, { headers: asTenant });
    const body = (await list.json()) as { items?: Array<{ id: string }> };
    const id = body.items?.[0]?.id;
    if (!id) return list.status;
    path = `/ops/api/v1/incidents/${id}/resolve`;
    init = { method: "POST", headers: asTenant, body: JSON.stringify({ reason: "soak: attack over" }) };
  }
  const res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  return res.status;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Growth over the last half of the samples: slope in MB/min and growth of the fitted line over the half, in %. */
export function growth(samples: readonly Sample[], field: "rssMb" | "heapMb"): { mbPerMin: number; pct: number } {
  const half = samples.slice(Math.floor(samples.length / 2));
  const xs = half.map((s) => s.atS / 60);
  const ys = half.map((s) => s[field]);
  const k = slope(xs, ys);
  const span = xs[xs.length - 1]! - xs[0]!;
  const start = ys.reduce((a, b) => a + b, 0) / ys.length - (k * span) / 2;
  return { mbPerMin: k, pct: start > 0 ? ((k * span) / start) * 100 : 0 };
}

async function soak(backend: string, env: Record<string, string>, seconds: number): Promise<BenchRow[]> {
  const { child, base } = await startService(env);
  const group = `soak: example service under mixed load, ${seconds} s (${backend})`;
  // The start-up (WebAssembly compile, migrations) is not part of the soak: discard its delays.
  await sample(child);
  const samples: Sample[] = [];
  let requests = 0;
  let errors = 0;
  let latencies: number[] = [];
  const statuses = new Map<number, number>();
  let stop = false;
  const worker = async (w: number) => {
    for (let n = w; !stop; n += WORKERS) {
      const t0 = performance.now();
      let status = 0;
      try {
        status = await oneRequest(base, n);
      } catch {
        status = 0;
      }
      latencies.push(performance.now() - t0);
      requests++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 0 || status >= 500) errors++;
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  };
  const t0 = Date.now();
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  try {
    while (Date.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS - ((Date.now() - t0) % SAMPLE_MS)));
      const m = await sample(child);
      const sorted = latencies.sort((a, b) => a - b);
      samples.push({
        ...m,
        atS: Math.round((Date.now() - t0) / 1000),
        requests,
        errors,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
      });
      latencies = [];
      requests = 0;
      errors = 0;
      process.stderr.write(
        `soak ${backend} t=${samples.at(-1)!.atS}s rss ${m.rssMb.toFixed(1)} MB heap ${m.heapMb.toFixed(1)} MB eld p99 ${m.eldP99Ms.toFixed(1)} ms\n`,
      );
    }
  } finally {
    stop = true;
    await Promise.all(workers);
    child.removeAllListeners("exit");
    child.disconnect();
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const hard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.once("exit", () => (clearTimeout(hard), resolve()));
      child.kill("SIGTERM");
    });
  }
  const rows: BenchRow[] = samples.map((s) => ({
    group,
    subject: `t=${s.atS}s`,
    opsPerSec: s.requests / (SAMPLE_MS / 1000),
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    note: `RSS ${s.rssMb.toFixed(1)} MB, heap after GC ${s.heapMb.toFixed(1)} MB, external ${s.externalMb.toFixed(1)} MB, event-loop delay p99 ${s.eldP99Ms.toFixed(1)} ms (max ${s.eldMaxMs.toFixed(0)}); ${s.errors} errors (5xx/no answer)`,
  }));
  const totalErrors = samples.reduce((a, s) => a + s.errors, 0);
  const mix = [...statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k || "none"}: ${v}`);
  if (samples.length < 12) {
    rows.push({
      group,
      subject: "verdict",
      ours: true,
      note: `n/a: ${samples.length} samples (a verdict needs >= 12, the full run); statuses ${mix.join(", ")}`,
    });
    return rows;
  }
  const heap = growth(samples, "heapMb");
  const rss = growth(samples, "rssMb");
  const heapGrows = heap.mbPerMin > 1 && heap.pct > 10;
  const rssGrows = rss.mbPerMin > 4 && rss.pct > 10;
  const ok = !heapGrows && !rssGrows && totalErrors === 0;
  const verdict = `heap ${heap.mbPerMin >= 0 ? "+" : ""}${heap.mbPerMin.toFixed(2)} MB/min (${heap.pct.toFixed(1)}% over the last half), RSS ${rss.mbPerMin >= 0 ? "+" : ""}${rss.mbPerMin.toFixed(2)} MB/min (${rss.pct.toFixed(1)}%); ${totalErrors} errors; statuses ${mix.join(", ")}`;
  rows.push({ group, subject: ok ? "verdict: no growth" : "verdict: GROWTH", ours: true, note: verdict });
  if (!ok) {
    process.stderr.write(`\n!!! soak ${backend}: GROWTH or errors: ${verdict}\n\n`);
    process.exitCode = 1;
  }
  return rows;
}

const backendsArg = process.argv.find((a) => a.startsWith("--soak-backends="))?.slice("--soak-backends=".length);

const bench: BenchCase = {
  name: "soak: example service, mixed load, RSS/heap/event-loop delay every 10 s",
  async run({ quick }) {
    const seconds = Number(process.env.OPS_SOAK_SECONDS ?? (quick ? 60 : 600));
    const want = new Set((backendsArg ?? "pglite,postgres,redis").split(","));
    const rows: BenchRow[] = [];
    if (want.has("pglite")) {
      const dir = mkdtempSync(join(tmpdir(), "ops-soak-"));
      try {
        rows.push(...(await soak("PGlite", { OPS_DATA_DIR: dir }, seconds)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const pgUp = await tcpUp(PG_URL, 5432);
    for (const b of ["postgres", "redis"] as const) {
      if (!want.has(b)) continue;
      const label = b === "postgres" ? "PostgreSQL" : "PostgreSQL + Redis";
      if (!pgUp) {
        rows.push({ group: `soak (${label})`, subject: "skipped", note: "PostgreSQL not reachable" });
        continue;
      }
      const db = await freshDatabase();
      const redis = b === "redis" ? await ownRedis() : undefined;
      try {
        rows.push(
          ...(await soak(label, { DATABASE_URL: db.url, ...(redis ? { REDIS_URL: redis.url, OPS_REDIS_PREFIX: "soak" } : {}) }, seconds)),
        );
      } finally {
        await redis?.stop();
        await db.drop();
      }
    }
    return rows;
  },
};

export default bench;
