import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { createAuditLog } from "@ops/audit";
import { drizzleStores, type DrizzleDatabase } from "@ops/adapter-drizzle";
import { requireService, testPgAdminUrl, testPgUrl } from "@ops/testkit";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Crash safety (#21 item 4, over the transactional outbox of #18 item 5): a child process running
 * the service's stack under mixed load (flag sets, tenant overrides, kill switches, incidents
 * opened and mitigated) is SIGKILLed at a random point, 20 times; a restarted instance then
 * recovers on its own. Afterwards every flag version has exactly one FLAG_CHANGE, every incident
 * is mitigated and notified, no effect is left pending, and every audit chain verifies.
 */
const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "crash-child.ts");
const bundled = join(here, "fixtures", ".build", `crash-child-${process.pid}.mjs`);
const CYCLES = Number(process.env.OPS_CRASH_CYCLES ?? 20);

type Query = (text: string) => Promise<Array<Record<string, unknown>>>;

function runChild(
  env: Record<string, string>,
  args: string[],
  kill: { afterOps: number; delayMs: number } | null,
): Promise<{ lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bundled, ...args], {
      cwd: join(here, ".."),
      env: { ...process.env, ...env, OPS_TENANT_JWT_SECRET: "x".repeat(32) },
      stdio: "pipe",
    });
    const lines: string[] = [];
    let stderr = "";
    let buf = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (kill !== null && line === `{"op":${kill.afterOps}}`) setTimeout(() => proc.kill("SIGKILL"), kill.delayMs);
      }
    });
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const guard = setTimeout(() => proc.kill("SIGKILL"), 150_000);
    proc.on("error", reject);
    proc.on("exit", () => {
      clearTimeout(guard);
      resolve({ lines, stderr });
    });
  });
}

async function crashCycles(env: Record<string, string>): Promise<{ opened: number; recover: string[] }> {
  let opened = 0;
  for (let c = 0; c < CYCLES; c++) {
    // Killed at a random point after 1..12 operations (0..40 ms later, whatever the machine's
    // speed): inside a flag write, a relay delivery, a raise, a mitigation's flips or its status writes.
    const kill = { afterOps: Math.floor(Math.random() * 12), delayMs: Math.floor(Math.random() * 40) };
    const { lines, stderr } = await runChild(env, ["load", String(c + 1)], kill);
    if (!lines.some((l) => l.includes('"ready"'))) throw new Error(`child ${c} never got ready: ${stderr.slice(-2000)}`);
    opened += lines.filter((l) => l.includes('"opened"')).length;
  }
  const { lines, stderr } = await runChild(env, ["recover", "0"], null);
  if (!lines.some((l) => l.includes('"done"'))) throw new Error(`recovery did not finish: ${stderr.slice(-2000)} ${lines.join("\n")}`);
  return { opened, recover: lines };
}

async function check(query: Query, db: DrizzleDatabase): Promise<void> {
  // 1. Every flag version has exactly one FLAG_CHANGE (versions 1..current of every record).
  const flags = await query(`SELECT "key", "tenant_id", "version" FROM "ops_flags" WHERE "env" = 'prod' AND "key" NOT LIKE '$%'`);
  const entries = await query(
    `SELECT "tenant_id", "meta"->>'key' AS "key", ("meta"->>'version')::int AS "version" FROM "ops_audit_entries" WHERE "action" = 'FLAG_CHANGE'`,
  );
  const seen = new Map<string, number[]>();
  for (const e of entries) {
    const k = `${e.tenant_id ?? ""}/${e.key}`;
    seen.set(k, [...(seen.get(k) ?? []), Number(e.version)]);
  }
  expect(flags.length).toBeGreaterThan(0);
  let versions = 0;
  for (const f of flags) {
    const got = (seen.get(`${f.tenant_id ?? ""}/${f.key}`) ?? []).sort((a, b) => a - b);
    const want = Array.from({ length: Number(f.version) }, (_, i) => i + 1);
    versions += want.length;
    expect({ flag: `${f.tenant_id ?? "(global)"}/${f.key}`, versions: got }).toEqual({
      flag: `${f.tenant_id ?? "(global)"}/${f.key}`,
      versions: want,
    });
  }
  expect(versions).toBeGreaterThanOrEqual(CYCLES);
  // 2. Nothing left in the outbox of effects.
  expect(await query(`SELECT "id", "kind", "last_error" FROM "ops_effects"`)).toEqual([]);
  // 3. Every incident is mitigated and was notified.
  const incidents = await query(`SELECT "id", "state" FROM "ops_incidents"`);
  expect(incidents.length).toBeGreaterThan(0);
  const outbox = (await query(`SELECT "payload"::text AS "p" FROM "ops_outbox"`)).map((r) => String(r.p));
  for (const i of incidents) {
    expect({ id: i.id, state: i.state }).toEqual({ id: i.id, state: "mitigated" });
    expect({ id: i.id, notified: outbox.some((p) => p.includes(String(i.id))) }).toEqual({ id: i.id, notified: true });
  }
  // 4. Every audit chain verifies.
  const stores = drizzleStores(db);
  const results = await createAuditLog({ store: stores.audit, keys: stores.auditKeys, env: "prod" }).verifyAll();
  expect(results.length).toBeGreaterThan(0);
  expect(results.filter((r) => !r.ok)).toEqual([]);
}

const pgUp = await requireService("postgres");

describe("crash safety: SIGKILL at random points of mixed load, then restart", () => {
  // One bundle of the child (esbuild, as tsx uses it): each restart loads in well under a second
  // instead of transpiling the workspace's sources again.
  beforeAll(async () => {
    const require = createRequire(import.meta.url);
    const esbuild = createRequire(require.resolve("tsx/package.json"))("esbuild") as {
      build(options: Record<string, unknown>): Promise<unknown>;
    };
    await esbuild.build({
      entryPoints: [fixture],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: bundled,
      conditions: ["@ops/source"],
      external: ["pg", "pg-*", "@electric-sql/pglite", "@electric-sql/pglite/*", "drizzle-orm", "drizzle-orm/*", "zod", "zod/*"],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: "warning",
    });
  }, 120_000);
  afterAll(() => rmSync(bundled, { force: true }));

  it.skipIf(!pgUp)(
    `PostgreSQL: ${CYCLES} kills, then every flag version has one FLAG_CHANGE, incidents mitigated and notified, chains verify`,
    async () => {
      const name = `ops_txn_crash_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      // CREATE DATABASE needs the admin; the database belongs to the test role (CI: the
      // non-superuser ops_test), which the service connects and migrates as.
      const admin = new pg.Client({ connectionString: testPgAdminUrl() });
      await admin.connect();
      const owner = decodeURIComponent(new URL(testPgUrl()).username || "postgres");
      await admin.query(`CREATE DATABASE "${name}" OWNER "${owner.replace(/"/g, '""')}"`);
      const url = new URL(testPgUrl());
      url.pathname = `/${name}`;
      const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      try {
        await crashCycles({ DATABASE_URL: url.toString() });
        await check(async (text) => (await pool.query(text)).rows, drizzleNodePg(pool) as unknown as DrizzleDatabase);
      } finally {
        await pool.end();
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.end();
      }
    },
    1_200_000,
  );

  it(`PGlite: ${CYCLES} kills, then every flag version has one FLAG_CHANGE, incidents mitigated and notified, chains verify`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ops-crash-"));
    try {
      await crashCycles({ OPS_DATA_DIR: dir });
      const lite = new PGlite(dir);
      try {
        await check(
          async (text) => (await lite.query<Record<string, unknown>>(text)).rows,
          drizzlePglite(lite) as unknown as DrizzleDatabase,
        );
      } finally {
        await lite.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 1_200_000);
});
