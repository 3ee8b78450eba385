import { createConnection } from "node:net";

export const DEFAULT_TEST_PG_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379";

/** PostgreSQL for integration tests: `OPS_TEST_PG_URL`, else the local server. */
export function testPgUrl(env: Record<string, string | undefined> = process.env): string {
  return env.OPS_TEST_PG_URL || DEFAULT_TEST_PG_URL;
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
