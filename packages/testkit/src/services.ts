import { createConnection } from "node:net";

export const DEFAULT_TEST_PG_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * PostgreSQL for integration tests: `OPS_TEST_PG_URL`, else the local server's superuser. CI
 * (`.ci/run`) sets it to the non-superuser role `ops_test` (owner of what the tests create, never
 * superuser, never BYPASSRLS); without it a single test file run locally uses the superuser.
 */
export function testPgUrl(env: Record<string, string | undefined> = process.env): string {
  return env.OPS_TEST_PG_URL || DEFAULT_TEST_PG_URL;
}

/**
 * A PostgreSQL URL with superuser rights, for the few tests that truly need them (creating
 * databases or roles, dropping what another role owns): `OPS_TEST_PG_ADMIN_URL`, else the local
 * superuser. Everything else uses `testPgUrl()`, which CI points at an ordinary (non-superuser)
 * role so that row-level security and grants are exercised as on managed PostgreSQL.
 */
export function testPgAdminUrl(env: Record<string, string | undefined> = process.env): string {
  return env.OPS_TEST_PG_ADMIN_URL || DEFAULT_TEST_PG_URL;
}

/**
 * `url` with its user replaced by `role` (and its password removed): how tests connect as a role
 * they created. Never log the result of a URL that carried a password.
 */
export function pgUrlAs(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = "";
  return u.toString();
}

/** Redis for integration tests: `OPS_TEST_REDIS_URL`, else the local server. */
export function testRedisUrl(env: Record<string, string | undefined> = process.env): string {
  return env.OPS_TEST_REDIS_URL || DEFAULT_TEST_REDIS_URL;
}

function reachable(url: string, defaultPort: number, timeoutMs = 1500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname || "127.0.0.1", port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether a service-backed suite should run. When the server does not answer: under `CI` this
 * throws (the suite must fail, never skip); locally it returns false and prints a loud reason.
 */
export async function requireService(kind: "postgres" | "redis", url?: string): Promise<boolean> {
  const target = url ?? (kind === "postgres" ? testPgUrl() : testRedisUrl());
  const ok = await reachable(target, kind === "postgres" ? 5432 : 6379);
  if (ok) return true;
  const safe = new URL(target);
  safe.password = "";
  const msg = `[ops/testkit] ${kind} is not answering at ${safe.host}`;
  if (process.env.CI) throw new Error(`${msg}: service-backed suites fail under CI instead of skipping`);
  console.warn(`\n!!! ${msg}: SKIPPING its suites (they fail under CI) !!!\n`);
  return false;
}

/** PgBouncer (pool_mode=transaction) in front of the test PostgreSQL: `OPS_TEST_PGBOUNCER_URL` (`.ci/pgbouncer.sh start` prints it). */
export function testPgBouncerUrl(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.OPS_TEST_PGBOUNCER_URL || undefined;
}

/**
 * The PostgreSQL targets a PostgreSQL suite runs against: always `direct` (`testPgUrl()`), plus
 * `pgbouncer` when `OPS_TEST_PGBOUNCER_URL` is set and answers. Under `CI` an unset or silent
 * pooler throws (those suites must run through it there); locally it is left out with a loud
 * reason. Use it as `describe.each(await pgTargets())(...)`.
 */
export async function pgTargets(): Promise<Array<{ target: "direct" | "pgbouncer"; url: string }>> {
  const out: Array<{ target: "direct" | "pgbouncer"; url: string }> = [{ target: "direct", url: testPgUrl() }];
  const pooled = testPgBouncerUrl();
  if (pooled === undefined) {
    const msg = "[ops/testkit] OPS_TEST_PGBOUNCER_URL is not set (.ci/pgbouncer.sh start prints it)";
    if (process.env.CI) throw new Error(`${msg}: the PostgreSQL suites must also run through PgBouncer under CI`);
    console.warn(`\n!!! ${msg}: SKIPPING the runs through PgBouncer (they fail under CI) !!!\n`);
    return out;
  }
  if (await requireService("postgres", pooled)) out.push({ target: "pgbouncer", url: pooled });
  return out;
}
