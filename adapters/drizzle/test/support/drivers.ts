import { pgTargets, requireService } from "@ops/testkit";
import { afterAll, beforeAll, describe } from "vitest";
import { lazyHarness, type DriverName, type Harness } from "./harness.js";

export const DRIVERS: readonly DriverName[] = ["node-postgres", "postgres.js", "pglite"];

/**
 * Registers `register` once per driver (and per driver through PgBouncer when
 * `OPS_TEST_PGBOUNCER_URL` is set), each with its own database (a fresh PostgreSQL schema, or
 * an in-process PGlite). PostgreSQL drivers skip loudly when the server is absent, and fail under CI.
 */
export async function forEachDriver(tag: string, register: (driver: DriverName, harness: () => Promise<Harness>) => void): Promise<void> {
  const pgUp = await requireService("postgres");
  // Through PgBouncer too when OPS_TEST_PGBOUNCER_URL is set (required under CI).
  const pooled = pgUp && (await pgTargets()).some((t) => t.target === "pgbouncer");
  const drivers: DriverName[] = [...DRIVERS, ...(pooled ? (["node-postgres+pgbouncer", "postgres.js+pgbouncer"] as const) : [])];
  for (const driver of drivers) {
    const h = lazyHarness(driver, tag);
    afterAll(() => h.close(), 60_000);
    describe.skipIf(driver !== "pglite" && !pgUp)(`drizzle/${driver}`, () => {
      // Opening the database (PGlite boots a WASM PostgreSQL) is set-up, not part of a case's time.
      beforeAll(async () => void (await h.get()), 120_000);
      register(driver, h.get);
    });
  }
}
