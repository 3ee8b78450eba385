import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { OPS_MIGRATIONS, migrationStatements, opsRoleSetupStatements } from "@ops/adapter-postgres";
import pg from "pg";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";

const up = await requireService("redis");
const prefix = `opstest-flagsx-cli-${process.pid}-${Date.now().toString(36)}`;
const root = fileURLToPath(new URL("../../..", import.meta.url));
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ops-flags-cli-"));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!up) return;
  const redis = new Redis(testRedisUrl());
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

/** Spawns the real `ops-flags` entry point. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsx, "--conditions=@ops/source", main, ...args], {
      env: { ...process.env, REDIS_URL: testRedisUrl(), OPS_REDIS_PREFIX: prefix, OPS_ACTOR: "alice", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => void (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => void (err += b.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

describe.skipIf(!up)("ops-flags CLI against Redis (spawned)", () => {
  it("set, get, list, override, kill, diff, export/import, with human and --json output", async () => {
    expect((await cli([])).code).toBe(2);
    const refused = await cli(["set", "checkout", "true"]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--reason is required/);
    const set = await cli(["set", "checkout", "true", "--reason", "launch", "--env", "staging"]);
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/checkout = true in staging \(v1\)/);
    expect((await cli(["override", "checkout", "false", "--tenant", "acme", "--reason", "beta off", "--env", "staging"])).code).toBe(0);
    const got = JSON.parse((await cli(["get", "checkout", "--env", "staging", "--json"])).out);
    expect(got).toMatchObject({
      key: "checkout",
      flag: { version: 1, updatedBy: "alice", config: { value: true } },
      overrides: [{ tenantId: "acme", value: false }],
    });
    const list = await cli(["list", "--env", "staging"]);
    expect(list.out).toMatch(/^checkout\s+boolean\s+on\s+v1\s+true$/m);
    expect((await cli(["kill", "checkout", "--reason", "incident", "--env", "staging"])).code).toBe(0);
    expect(JSON.parse((await cli(["list", "--env", "staging", "--json"])).out)[0]).toMatchObject({
      key: "checkout",
      enabled: false,
      version: 2,
    });

    const exported = await cli(["export", "--env", "staging"]);
    const file = join(dir, "staging.json");
    writeFileSync(file, exported.out);
    const imp = await cli(["import", file, "--env", "prod", "--reason", "promote staging"]);
    expect(imp.code, imp.err).toBe(0);
    expect(imp.out).toMatch(/imported 2 record/);
    const same = await cli(["diff", "staging", "prod"]);
    expect(same.out).toMatch(/same/);
    await cli(["set", "banner", "hello", "--reason", "copy", "--env", "prod"]);
    const diff = JSON.parse((await cli(["diff", "staging", "prod", "--json"])).out);
    expect(diff.diffs).toEqual([{ key: "banner", change: "only-in-b", b: expect.objectContaining({ value: "hello" }) }]);
    const bad = await cli(["set", "checkout", '"text"', "--reason", "x", "--env", "prod", "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.err).error.code).toBe("VALIDATION");
  }, 300_000);

  it("imports another tool's file and reports what it could not map; approvals through the CLI", async () => {
    const unleash = fileURLToPath(new URL("./fixtures/import/unleash-client-features.json", import.meta.url));
    const r = await cli(["import", unleash, "--from", "unleash", "--env", "mig", "--reason", "move off Unleash"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/imported 8 flag\(s\) from unleash into mig/);
    expect(r.out).toMatch(/not mapped:\n.*odd-strategy/);
    const approval = { OPS_APPROVAL_ENVS: "mig" };
    const direct = await cli(["set", "everyone", "false", "--reason", "x", "--env", "mig"], approval);
    expect(direct.code).toBe(1);
    expect(direct.err).toMatch(/APPROVAL_REQUIRED/);
    const proposed = JSON.parse(
      (await cli(["propose", "everyone", '{"kind":"enable","enabled":false}', "--reason", "retire", "--env", "mig", "--json"], approval))
        .out,
    );
    expect(proposed.status).toBe("pending");
    const self = await cli(["approve", proposed.id, "--env", "mig"], approval);
    expect(self.code).toBe(1);
    const ok = await cli(["approve", proposed.id, "--env", "mig", "--note", "ok"], { ...approval, OPS_ACTOR: "bob" });
    expect(ok.out).toMatch(/applied/);
    expect(JSON.parse((await cli(["get", "everyone", "--env", "mig", "--json"])).out).flag.config.enabled).toBe(false);
    const emergency = await cli(["kill", "eu-banner", "--emergency", "--reason", "INC-9", "--env", "mig"], approval);
    expect(emergency.code, emergency.err).toBe(0);
  }, 300_000);
});

const pgUp = await requireService("postgres");
describe.skipIf(!pgUp)("ops-flags CLI against DATABASE_URL (PostgreSQL, spawned)", () => {
  const schema = `opstest_flagsx_cli_${process.pid}_${Date.now().toString(36)}`;
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 2 });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it("writes through the PostgreSQL store and reads back what is stored", async () => {
    const c = await pool.connect();
    try {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`SET search_path TO "${schema}"`);
      for (const m of OPS_MIGRATIONS) for (const st of migrationStatements(m.sql)) await c.query(st);
      // The migrating role (CI: the non-superuser ops_test, owner under FORCE RLS) gets the service policy.
      const me = String((await c.query("SELECT current_user AS me")).rows[0]?.me);
      for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await c.query(st);
      await c.query("RESET search_path");
    } finally {
      c.release();
    }
    const env = { REDIS_URL: "", DATABASE_URL: testPgUrl(), OPS_PG_SCHEMA: schema };
    const set = await cli(["set", "checkout", "true", "--reason", "launch", "--env", "prod"], env);
    expect(set.code, set.err).toBe(0);
    const { rows } = await pool.query(
      `SELECT "config"->>'value' AS v, "version", "updated_by" FROM "${schema}"."ops_flags" WHERE "key" = 'checkout'`,
    );
    expect(rows).toEqual([{ v: "true", version: 1, updated_by: "alice" }]);
    const got = JSON.parse((await cli(["get", "checkout", "--env", "prod", "--json"], env)).out);
    expect(got.flag.config.value).toBe(true);
  }, 120_000);
});
