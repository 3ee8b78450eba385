// The outage harness (#21 item 3), shared by test/outage.test.ts (short outages) and
// bench/src/cases/outage.ts (the full 20 s ones): the example service as real child processes,
// its own Redis server (stopped and restarted empty by pid; the shared one is never touched) and
// its PostgreSQL behind a loopback TCP proxy that is cut and restored.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { redisStores } from "@ops/adapter-redis";
import { Redis } from "ioredis";
import pg from "pg";
import { TcpProxy } from "../../../adapters/postgres/test/support/tcp-proxy.js";
import { RedisProcess } from "../../../adapters/redis/test/redis-process.js";

// The adapters' own test helpers: a cuttable loopback proxy, and a redis-server of our own (no
// persistence) that is killed by pid and restarted empty.
export { RedisProcess, TcpProxy };
// For bench/src/cases/outage.ts, which has no @ops/testkit of its own.
export { requireService, testPgAdminUrl } from "@ops/testkit";
export { freshDatabase } from "./support.js";

const here = dirname(fileURLToPath(import.meta.url));
const serverDir = join(here, "..");

export const SPIKE_TENANT = "outage_t";
export const SPIKE_USER = "victim";
export const SPIKE_IP = "203.0.113.77";

/**
 * Bundles src/main.ts once (esbuild, as tsx uses it) so each instance starts in well under a
 * second; `remove()` deletes the bundle.
 */
export async function buildServerBundle(): Promise<{ path: string; remove(): void }> {
  const path = join(here, "fixtures", ".build", `outage-server-${process.pid}.mjs`);
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve("tsx/package.json"))("esbuild") as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  await esbuild.build({
    entryPoints: [join(serverDir, "src", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: path,
    conditions: ["@ops/source"],
    external: [
      "pg",
      "pg-*",
      "@electric-sql/pglite",
      "@electric-sql/pglite/*",
      "drizzle-orm",
      "drizzle-orm/*",
      "zod",
      "zod/*",
      "ioredis",
      "@prisma/*",
      "prisma",
    ],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
  return { path, remove: () => rmSync(path, { force: true }) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until truthy; throws naming `what` after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Reply {
  status: number;
  // Answers are checked field by field.
  json: any;
  text: string;
}

/** One example-service child process. */
export interface Instance {
  name: string;
  base: string;
  /** Its stdout lines (JSON: info lines and log-channel notifications). */
  lines: string[];
  stderr(): string;
  /** A request with a trusted gateway's headers: admin of `tenant` (or of the global scope). */
  call(method: string, path: string, o?: { tenant?: string; body?: unknown; timeoutMs?: number }): Promise<Reply>;
  /** SIGTERM, then waits for exit; the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the bundled service with `env` (trusted-header auth, ephemeral port, 60 s buckets,
 * mitigation "apply", 250 ms ticks unless `env` says otherwise) and waits for its "listening" line.
 */
export async function startInstance(bundle: string, name: string, env: Record<string, string>): Promise<Instance> {
  const proc = spawn(process.execPath, [bundle], {
    cwd: serverDir,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: "0",
      OPS_ENV: "test",
      OPS_MITIGATION: "apply",
      OPS_TICK_MS: "250",
      OPS_BUCKET_MS: "60000",
      OPS_GROUP_WAIT_MS: "0",
      OPS_NOTIFY_POLL_MS: "100",
      OPS_DRAIN_MS: "0",
      APP_NAME: `ops-outage-${name}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let buf = "";
  let onLine: ((line: string) => void) | undefined;
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      onLine?.(line);
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start: ${stderr.slice(-2000)}`)), 60_000);
    const check = (line: string) => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(line);
      if (line.includes('"listening"') && m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    onLine = check;
    lines.forEach(check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`${name} exited with ${code} before listening: ${stderr.slice(-2000)}`));
    });
  });
  onLine = undefined;
  return {
    name,
    base,
    lines,
    stderr: () => stderr,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { "x-ops-actor": `outage-${name}`, "x-ops-roles": "admin" };
      if (o.tenant) headers["x-tenant-id"] = o.tenant;
      else headers["x-ops-scope"] = "global";
      if (o.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(base + path, {
        method,
        headers,
        ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, json, text };
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const guard = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      proc.kill("SIGTERM");
      const code = await exited;
      clearTimeout(guard);
      return code;
    },
  };
}

export interface SpikeResult {
  /** Signals answered 202 (acknowledged). */
  acknowledged: number;
  /** Signals refused with 429/503 (the sender keeps them). */
  refused: number;
  /** Any other answer (or none): must stay 0. */
  other: string[];
}

/**
 * Posts failed logins of one user and IP (an identity spike) to `inst` in batches of `batch`,
 * every `everyMs`, until `untilMs` (epoch ms).
 */
export async function postSpike(inst: Instance, o: { batch: number; everyMs: number; untilMs: number }): Promise<SpikeResult> {
  const out: SpikeResult = { acknowledged: 0, refused: 0, other: [] };
  let n = 0;
  while (Date.now() < o.untilMs) {
    const events = Array.from({ length: o.batch }, () => ({
      type: "LOGIN_FAILED",
      userId: SPIKE_USER,
      ip: SPIKE_IP,
      meta: { n: n++ },
    }));
    try {
      const r = await inst.call("POST", "/api/signals", { tenant: SPIKE_TENANT, body: { events } });
      if (r.status === 202) out.acknowledged += r.json.accepted;
      else if (r.status === 429 || r.status === 503) out.refused += events.length;
      else out.other.push(`${r.status} ${r.text.slice(0, 200)}`);
    } catch (err) {
      out.other.push(String(err));
    }
    await sleep(o.everyMs);
  }
  return out;
}

const ops = (p: string) => `/ops/api/v1${p}`;

/** The spike tenant's FAILED_LOGINS_SPIKE incident once raised, mitigated and notified (or throws after `ms`). */
export async function waitForIncident(
  instances: Instance[],
  ms: number,
): Promise<{ raisedAt: number; incident: any; mitigatedAt: number; notifiedAt: number }> {
  try {
    return await incidentSteps(instances, ms);
  } catch (err) {
    const logs = instances.map((i) => `--- ${i.name} stderr:\n${i.stderr().slice(-3000)}`).join("\n");
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

async function incidentSteps(
  instances: Instance[],
  ms: number,
): Promise<{ raisedAt: number; incident: any; mitigatedAt: number; notifiedAt: number }> {
  const inst = instances[0]!;
  const incident = await waitFor(
    "the spike's incident",
    async () => {
      const r = await inst.call("GET", ops("/incidents?type=FAILED_LOGINS_SPIKE"), { tenant: SPIKE_TENANT, timeoutMs: 2_000 });
      return r.status === 200 && r.json.items.length > 0 ? r.json.items[0] : null;
    },
    ms,
  );
  const raisedAt = Date.now();
  const mitigated = await waitFor(
    "the incident's mitigation",
    async () => {
      const r = await inst.call("GET", ops(`/incidents/${incident.id}`), { tenant: SPIKE_TENANT, timeoutMs: 2_000 });
      return r.status === 200 && r.json.state === "mitigated" ? r.json : null;
    },
    ms,
  );
  const mitigatedAt = Date.now();
  await waitFor(
    "the incident's notification",
    async () => instances.some((i) => i.lines.some((l) => l.includes('"admin_notification"') && l.includes(incident.id))),
    ms,
  );
  return { raisedAt, incident: mitigated, mitigatedAt, notifiedAt: Date.now() };
}

/** The spike's signals as stored (auth events) and as counted (the `ev:LOGIN_FAILED` counters). */
export async function countSpike(o: {
  databaseUrl: string;
  redis?: { url: string; prefix: string };
  sinceMs: number;
}): Promise<{ stored: number; counted: number; crossings: number }> {
  const c = new pg.Client({ connectionString: o.databaseUrl });
  await c.connect();
  try {
    const [s] = (
      await c.query(`SELECT count(*)::int AS n FROM ops_auth_events WHERE tenant_id = $1 AND type = 'LOGIN_FAILED' AND user_id = $2`, [
        SPIKE_TENANT,
        SPIKE_USER,
      ])
    ).rows;
    // The identity rule's crossing (THRESHOLD_EXCEEDED): recorded once, when the counts landed.
    const [x] = (
      await c.query(
        `SELECT count(*)::int AS n FROM ops_auth_events WHERE tenant_id = $1 AND type = 'THRESHOLD_EXCEEDED' AND user_id = $2`,
        [SPIKE_TENANT, SPIKE_USER],
      )
    ).rows;
    let counted: number;
    if (o.redis) {
      const r = new Redis(o.redis.url, { maxRetriesPerRequest: 1 });
      r.on("error", () => {});
      const stores = redisStores(r, { prefix: o.redis.prefix });
      try {
        counted = await stores.counters.sum({
          tenantId: SPIKE_TENANT,
          key: "ev:LOGIN_FAILED",
          bucketMs: 60_000,
          fromMs: o.sinceMs - 120_000,
          toMs: Date.now() + 120_000,
        });
      } finally {
        await stores.close();
        r.disconnect();
      }
    } else {
      const [k] = (
        await c.query(`SELECT coalesce(sum(count), 0)::int AS n FROM ops_counters WHERE tenant_id = $1 AND key = 'ev:LOGIN_FAILED'`, [
          SPIKE_TENANT,
        ])
      ).rows;
      counted = k.n;
    }
    return { stored: s.n, counted, crossings: x.n };
  } finally {
    await c.end();
  }
}

/**
 * Sets `key` to `value` on `writer` and returns how long `reader`'s controller took to evaluate it
 * (ms; polled every 10 ms), or throws after `ms`.
 */
export async function propagationMs(writer: Instance, reader: Instance, key: string, value: number, ms = 10_000): Promise<number> {
  return (await propagation(writer, reader, key, value, ms)).seenAfterWriteMs;
}

/** As `propagationMs`, with the write's own time apart: `seenAt` (epoch ms), `writeMs`, and B's delay after A's write answered. */
export async function propagation(
  writer: Instance,
  reader: Instance,
  key: string,
  value: number,
  ms = 10_000,
): Promise<{ seenAt: number; writeMs: number; seenAfterWriteMs: number }> {
  const t0 = Date.now();
  const put = await writer.call("PUT", ops(`/flags/${key}/value`), { body: { value, reason: "outage test" } });
  if (put.status !== 200) throw new Error(`flag write answered ${put.status}: ${put.text.slice(0, 300)}`);
  const written = Date.now();
  await waitFor(
    `${reader.name} to see ${key}=${value}`,
    async () => {
      const r = await reader.call("POST", ops(`/flags/${key}/evaluate`), { body: {}, timeoutMs: 2_000 });
      return r.status === 200 && r.json.value === value;
    },
    ms,
    10,
  );
  const seenAt = Date.now();
  return { seenAt, writeMs: written - t0, seenAfterWriteMs: seenAt - written };
}

/** Every flag of `keys` evaluated on `inst`: the answers that are `null` or with reason ERROR. */
export async function badFlagAnswers(inst: Instance, keys: string[], tenant?: string): Promise<string[]> {
  const bad: string[] = [];
  for (const key of keys) {
    const r = await inst.call("POST", ops(`/flags/${key}/evaluate`), { body: {}, ...(tenant ? { tenant } : {}), timeoutMs: 2_000 });
    if (r.status !== 200 || r.json.value === null || r.json.value === undefined || r.json.reason === "ERROR")
      bad.push(`${key}${tenant ? `@${tenant}` : ""}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  return bad;
}

/** What one outage run measured (the test asserts it, the bench prints it). */
export interface OutageResult {
  spike: SpikeResult;
  counts: { stored: number; counted: number; crossings: number };
  /** Seconds after recovery. */
  raisedS: number;
  mitigatedS: number;
  notifiedS: number;
  /** A flag change made on A right after recovery: seen by B this long after recovery / after A's write answered. */
  propagationAfterRecoveryMs: number;
  /** How long A's flag write (the first after recovery) took to answer. */
  writeAfterRecoveryMs: number;
  /** B saw the change this long after A's write answered. */
  propagationAfterWriteMs: number;
  /** Redis only: both instances subscribed again this long after Redis' return; keys in the restarted Redis. */
  resubscribedMs?: number;
  keysAfterRestart?: number;
  /** Flag answers that were null or ERROR after recovery (both instances, global and a tenant override). */
  badFlags: string[];
}

/** The admin's URL of a database (reads through RLS, for counting from outside). */
function adminUrlOf(url: string, adminUrl: string): string {
  const admin = new URL(adminUrl);
  admin.pathname = new URL(url).pathname;
  return admin.toString();
}

/**
 * Two instances over `databaseUrl` (and Redis when given); `outage` takes the store away for
 * `outageMs` while a failed-login spike is posted to A, and `restore` brings it back; then
 * everything is measured. Instances are stopped at the end.
 */
async function runOutage(o: {
  bundle: string;
  name: string;
  env: Record<string, string>;
  databaseUrl: string;
  adminUrl: string;
  redis?: { url: string; prefix: string };
  outageMs: number;
  outage(): Promise<void>;
  restore(): Promise<void>;
  afterRestore?(recovered: number): Promise<Partial<OutageResult>>;
}): Promise<OutageResult> {
  const instances: Instance[] = [];
  try {
    const a = await startInstance(o.bundle, `${o.name}-a`, o.env);
    instances.push(a);
    const b = await startInstance(o.bundle, `${o.name}-b`, o.env);
    instances.push(b);
    await propagationMs(a, b, "g.outage.before", 1);
    const override = await a.call("PUT", "/ops/api/v1/flags/g.outage.before/overrides/tenant_x", { body: { value: 7, reason: "outage" } });
    if (override.status !== 200) throw new Error(`override answered ${override.status}: ${override.text.slice(0, 300)}`);
    const since = Date.now();

    await o.outage();
    const spike = await postSpike(a, { batch: 20, everyMs: 100, untilMs: Date.now() + o.outageMs });
    await o.restore();
    const recovered = Date.now();
    const extra = (await o.afterRestore?.(recovered)) ?? {};

    const seen = await propagation(a, b, "g.outage.after", 2);
    const badFlags: string[] = [];
    for (const i of instances) {
      badFlags.push(...(await badFlagAnswers(i, ["g.outage.before", "g.outage.after"])));
      const t = await i.call("POST", "/ops/api/v1/flags/g.outage.before/evaluate", { tenant: "tenant_x", body: {} });
      if (t.json?.value !== 7) badFlags.push(`${i.name}: g.outage.before@tenant_x: ${t.status} ${t.text.slice(0, 200)}`);
    }
    const inc = await waitForIncident(instances, 90_000);
    const count = () =>
      countSpike({ databaseUrl: adminUrlOf(o.databaseUrl, o.adminUrl), ...(o.redis ? { redis: o.redis } : {}), sinceMs: since });
    const counts = await waitFor(
      "every acknowledged signal stored and counted",
      async () => {
        const c = await count();
        return c.stored === spike.acknowledged && c.counted === spike.acknowledged && c.crossings === 1 ? c : null;
      },
      20_000,
      200,
    ).catch(() => count());
    const s = (t: number) => Math.round((t - recovered) / 100) / 10;
    return {
      spike,
      counts,
      raisedS: s(inc.raisedAt),
      mitigatedS: s(inc.mitigatedAt),
      notifiedS: s(inc.notifiedAt),
      propagationAfterRecoveryMs: seen.seenAt - recovered,
      writeAfterRecoveryMs: seen.writeMs,
      propagationAfterWriteMs: seen.seenAfterWriteMs,
      badFlags,
      ...extra,
    };
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
}

/** PostgreSQL unreachable (both instances reach it through a TcpProxy that goes down) for `outageMs`. */
export async function pgOutage(o: { bundle: string; databaseUrl: string; adminUrl: string; outageMs: number }): Promise<OutageResult> {
  const target = new URL(o.databaseUrl);
  const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
  const viaProxy = new URL(o.databaseUrl);
  viaProxy.port = String(proxy.port);
  try {
    return await runOutage({
      ...o,
      name: "pg",
      env: { DATABASE_URL: viaProxy.toString() },
      outage: () => proxy.down(),
      restore: () => proxy.up(),
    });
  } finally {
    await proxy.stop();
  }
}

/** The instances' own Redis killed for `outageMs` and restarted EMPTY (PostgreSQL stays up). */
export async function redisOutage(o: { bundle: string; databaseUrl: string; adminUrl: string; outageMs: number }): Promise<OutageResult> {
  const redis = await RedisProcess.start();
  const prefix = `outage-${process.pid}`;
  try {
    return await runOutage({
      ...o,
      name: "redis",
      env: { DATABASE_URL: o.databaseUrl, REDIS_URL: redis.url, OPS_REDIS_PREFIX: prefix },
      redis: { url: redis.url, prefix },
      outage: () => redis.kill(),
      restore: () => redis.start(),
      async afterRestore(recovered) {
        const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        probe.on("error", () => {});
        try {
          const keysAfterRestart = await probe.dbsize();
          await waitFor(
            "both flag subscriptions back",
            async () => {
              const [, n] = (await probe.pubsub("NUMSUB", `${prefix}:flags:changes`)) as [string, number];
              return n >= 2;
            },
            10_000,
            10,
          );
          return { resubscribedMs: Date.now() - recovered, keysAfterRestart };
        } finally {
          probe.disconnect();
        }
      },
    });
  } finally {
    await redis.kill();
  }
}
