import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryAuditStore, memoryStores } from "@ops/adapter-memory";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, postgresStores } from "@ops/adapter-postgres";
import { redisStores } from "@ops/adapter-redis";
import { createAuditLog } from "@ops/audit";
import type { AuditStore, FlagStore } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { consoleNodeHandler, createConsole, type Principal } from "../src/index.js";

// The real `ops-flags` entry point, spawned, against a real console served on loopback, the
// console backed by memory, PostgreSQL (flags + audit) and Redis (flags) stores in turn: the same
// commands must give the same output and write the same audit entries on every backend.
const root = fileURLToPath(new URL("../../..", import.meta.url));
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const main = fileURLToPath(new URL("../../flags/src/cli/main.ts", import.meta.url));
const ADMIN_TOKEN = `adm-${Math.random().toString(36).slice(2)}-secret`;
const TENANT_TOKEN = `t1-${Math.random().toString(36).slice(2)}-secret`;

const principals = new Map<string, Principal>([
  [ADMIN_TOKEN, { actorId: "cli-bot", roles: ["admin"], tenantId: null }],
  [TENANT_TOKEN, { actorId: "t1-operator", roles: ["operator"], tenantId: "t1" }],
]);

const redisUp = await requireService("redis");
const pgUp = await requireService("postgres");
const schema = `opstest_flagsbk_cli_${process.pid}_${Date.now().toString(36)}`;
const pool = new pg.Pool({ connectionString: testPgUrl(), max: 4 });
if (pgUp) {
  const c = await pool.connect();
  try {
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.query(`SET search_path TO "${schema}"`);
    for (const m of OPS_MIGRATIONS) for (const st of migrationStatements(m.sql)) await c.query(st);
    // The migrating role (CI: the non-superuser ops_test, owner under FORCE RLS) gets the service policy.
    const me = String((await c.query("SELECT current_user AS me")).rows[0]?.me);
    for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await c.query(st);
  } finally {
    await c.query("RESET search_path").catch(() => {});
    c.release();
  }
}
const prefix = `opstest-flagsbk-cli-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
afterAll(async () => {
  if (pgUp) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  if (!redisUp) return redis.disconnect();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

type Backend = { flags: FlagStore; audit: AuditStore; close: () => Promise<void> };
const backends: { name: string; up: boolean; make: () => Backend }[] = [
  { name: "memory", up: true, make: () => memoryStores() },
  { name: "postgres", up: pgUp, make: () => postgresStores(nodePgExecutor(pool), { schema }) },
  {
    name: "redis",
    up: redisUp,
    // Redis has no audit store (README: keep the audit trail in PostgreSQL); a memory one here.
    make: () => {
      const r = redisStores(redis, { prefix });
      return { flags: r.flags, audit: new MemoryAuditStore(), close: () => r.close() };
    },
  },
];

/** What each backend's run printed and audited, with timestamps and generated ids masked. */
const results = new Map<string, { outputs: string[]; audit: string[] }>();
/** JSON with object keys sorted (PostgreSQL jsonb reorders them). */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
const mask = (text: string, ids: string[] = []) => {
  let t = text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, "<ts>");
  for (const id of ids) t = t.split(id).join("<id>");
  return t;
};

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const clean = { ...process.env };
    for (const k of ["DATABASE_URL", "REDIS_URL", "OPS_CONSOLE_URL", "OPS_CONSOLE_TOKEN", "OPS_ENV"]) delete clean[k];
    const child = spawn(process.execPath, [tsx, "--conditions=@ops/source", main, ...args], {
      env: { ...clean, OPS_CONSOLE_TOKEN: ADMIN_TOKEN, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => void (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => void (err += b.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

for (const b of backends)
  describe.skipIf(!b.up)(`ops-flags --console-url against a running @ops/console on ${b.name}`, () => {
    const seen: string[] = [];
    let server: Server;
    let url: string;
    let stores: Backend;
    let audit: ReturnType<typeof createAuditLog>;
    let controller: FeatureFlagController;

    beforeAll(async () => {
      stores = b.make();
      audit = createAuditLog({ store: stores.audit, env: "prod" });
      controller = new FeatureFlagController(stores.flags, "prod", { audit, pollIntervalMs: 0 });
      await controller.ready();
      await controller.setFlag({ key: "checkout", newValue: false, actorUserId: "seed", reason: "seed" });
      await controller.setFlag({ key: "banner", newValue: "hello", actorUserId: "seed", reason: "seed" });
      const c = createConsole({
        authorize: (req) => {
          seen.push(`${req.method} ${new URL(req.url).pathname}`);
          const h = req.headers.get("authorization") ?? "";
          return h.startsWith("Bearer ") ? (principals.get(h.slice(7)) ?? null) : null;
        },
        flags: { controller, store: stores.flags },
        audit,
        basePath: "/ops",
        uiDir: join(root, "packages", "console"),
      });
      server = createServer(consoleNodeHandler(c));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;
    });
    afterAll(async () => {
      await controller?.close();
      if (server) await new Promise((r) => server.close(r));
      await stores?.close();
    });

    it("list, get, set, override, kill, enable, schedule through the admin API, as the token's principal", async () => {
      const list = await cli(["list", "--console-url", url]);
      expect(list.code, list.err).toBe(0);
      expect(list.out).toMatch(/^banner\s+string\s+on\s+v1\s+"hello"$/m);
      expect(list.out).toMatch(/^checkout\s+boolean\s+on\s+v1\s+false$/m);

      const set = await cli(["set", "checkout", "true", "--reason", "launch", "--console-url", url, "--json"]);
      expect(set.code, set.err).toBe(0);
      expect(JSON.parse(set.out)).toMatchObject({ key: "checkout", value: true, version: 2, tenantId: null });
      expect(controller.getFlag("checkout")).toMatchObject({ version: 2, updatedBy: "cli-bot", config: { value: true } });

      const o = await cli(["override", "checkout", "false", "--tenant", "t2", "--reason", "not yet", "--console-url", url]);
      expect(o.code, o.err).toBe(0);
      expect(controller.evaluate("checkout", { tenantId: "t2" })).toMatchObject({ value: false, reason: "TENANT_OVERRIDE" });

      const kill = await cli(["kill", "checkout", "--reason", "incident 42", "--console-url", url]);
      expect(kill.code, kill.err).toBe(0);
      expect(kill.out).toMatch(/checkout killed .*\(v3\)/);
      expect(controller.getFlag("checkout")?.config.enabled).toBe(false);
      const enable = await cli(["enable", "checkout", "--reason", "fixed", "--console-url", url]);
      expect(enable.code, enable.err).toBe(0);
      expect(controller.getFlag("checkout")?.config.enabled).toBe(true);

      const at = new Date(Date.now() + 86_400_000).toISOString();
      const sch = await cli([
        "schedule",
        "banner",
        "--at",
        at,
        "--patch",
        '{"value":"bye"}',
        "--reason",
        "sunset",
        "--console-url",
        url,
        "--json",
      ]);
      expect(sch.code, sch.err).toBe(0);
      expect(controller.getFlag("banner")?.config.schedule?.[0]).toMatchObject({ id: JSON.parse(sch.out).id, actor: "cli-bot" });

      const got = await cli(["get", "checkout", "--tenant", "t2", "--json"], { OPS_CONSOLE_URL: url });
      expect(got.code, got.err).toBe(0);
      expect(JSON.parse(got.out)).toMatchObject({
        key: "checkout",
        flag: { version: 4, updatedBy: "cli-bot", config: { value: true, enabled: true } },
        overrides: [{ tenantId: "t2", value: false }],
      });
      // Every change is in the console's audit trail with the token's principal as actor.
      const trail = await audit.query({ tenantId: null, targetId: "checkout", order: "asc", limit: 50 });
      expect(trail.items.filter((e) => e.actor.id === "cli-bot").length).toBeGreaterThanOrEqual(3);
      const overrides = await audit.query({ tenantId: "t2", targetId: "checkout", order: "asc", limit: 50 });
      expect(overrides.items.map((e) => e.actor.id)).toContain("cli-bot");
      const banner = await audit.query({ tenantId: null, targetId: "banner", order: "asc", limit: 50 });
      const sid = String(JSON.parse(sch.out).id);
      results.set(b.name, {
        outputs: [list, set, o, kill, enable, sch, got].map((r) => mask(`${r.code} ${r.out} ${r.err}`, [sid])),
        audit: [...trail.items, ...overrides.items, ...banner.items].map((e) =>
          mask(
            canonical({
              tenantId: e.tenantId,
              env: e.env,
              action: e.action,
              actor: e.actor.id,
              target: e.target,
              outcome: e.outcome,
              reason: e.reason,
              meta: e.meta,
            }),
            [sid],
          ),
        ),
      });
    }, 120_000);

    it("the console decides: a tenant token cannot change global state; errors keep the console's code; the token is never printed", async () => {
      const refused = await cli(["set", "checkout", "false", "--reason", "x", "--console-url", url], { OPS_CONSOLE_TOKEN: TENANT_TOKEN });
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/TENANT_ISOLATION: .*"configure" permission/);
      const own = await cli(["override", "checkout", "true", "--tenant", "t1", "--reason", "beta", "--console-url", url, "--json"], {
        OPS_CONSOLE_TOKEN: TENANT_TOKEN,
      });
      expect(own.code, own.err).toBe(0);
      const other = await cli(["override", "checkout", "true", "--tenant", "t2", "--reason", "beta", "--console-url", url], {
        OPS_CONSOLE_TOKEN: TENANT_TOKEN,
      });
      expect(other.code).toBe(1);
      const bad = await cli(["set", "nope", "1", "--reason", "x", "--console-url", url], { OPS_CONSOLE_TOKEN: "wrong-token-secret" });
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/refused the token \(401\)/);
      const missing = await cli(["get", "ghost", "--console-url", url]);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/"ghost" does not exist/);
      const invalid = await cli(["kill", "checkout", "--console-url", url, "--json", "--reason", " "]);
      expect(invalid.code).toBe(1);
      expect(JSON.parse(invalid.err).error.code).toBe("VALIDATION");
      for (const r of [refused, own, other, bad, missing, invalid])
        for (const text of [r.out, r.err]) {
          expect(text).not.toContain(ADMIN_TOKEN);
          expect(text).not.toContain(TENANT_TOKEN);
          expect(text).not.toContain("wrong-token-secret");
        }
    }, 120_000);

    it("refuses what the console cannot do, credentials in the URL, plain http off loopback, a missing token", async () => {
      const diff = await cli(["diff", "a", "b", "--console-url", url]);
      expect(diff.code).toBe(1);
      expect(diff.err).toMatch(/UNSUPPORTED: .*diff is not available through the console API/);
      const creds = await cli(["list", "--console-url", "https://bob:hunter2@ops.example.com/ops"]);
      expect(creds.code).toBe(1);
      expect(creds.err).toMatch(/no credentials in the URL/);
      expect(creds.err).not.toContain("hunter2");
      const http = await cli(["list", "--console-url", "http://ops.example.com/ops"]);
      expect(http.err).toMatch(/plain http would send the token in clear/);
      const noToken = await cli(["list", "--console-url", url], { OPS_CONSOLE_TOKEN: "" });
      expect(noToken.err).toMatch(/OPS_CONSOLE_TOKEN is not set/);
      const env = await cli(["list", "--console-url", url, "--env", "staging"]);
      expect(env.code).toBe(2);
      const down = await cli(["list", "--console-url", "http://127.0.0.1:9/ops"]);
      expect(down.code).toBe(1);
      expect(down.err).toMatch(/UNAVAILABLE: .*could not be reached/);
    }, 120_000);
  });

describe("ops-flags --console-url: every backend", () => {
  it("prints the same and audits the same on memory, PostgreSQL and Redis", () => {
    const ran = backends.filter((b) => b.up).map((b) => b.name);
    expect([...results.keys()].sort()).toEqual([...ran].sort());
    const want = results.get("memory")!;
    expect(want.audit.length).toBeGreaterThanOrEqual(5);
    for (const name of ran) {
      expect(results.get(name)!.outputs, name).toEqual(want.outputs);
      expect(results.get(name)!.audit, name).toEqual(want.audit);
    }
  });
});
