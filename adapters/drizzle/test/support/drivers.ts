import { requireService } from "@ops/testkit";
import { afterAll, beforeAll, describe } from "vitest";
import { lazyHarness, type DriverName, type Harness } from "./harness.js";

export const DRIVERS: readonly DriverName[] = ["node-postgres", "postgres.js", "pglite"];

/**
 * Registers `register` once per driver, each with its own database (a fresh PostgreSQL schema, or
 * an in-process PGlite). PostgreSQL drivers skip loudly when the server is absent, and fail under CI.
 */
export async function forEachDriver(tag: string, register: (driver: DriverName, harness: () => Promise<Harness>) => void): Promise<void> {
  const pgUp = await requireService("postgres");
  for (const driver of DRIVERS) {
    const h = lazyHarness(driver, tag);
    afterAll(() => h.close(), 60_000);
    describe.skipIf(driver !== "pglite" && !pgUp)(`drizzle/${driver}`, () => {
      // Opening the database (PGlite boots a WASM PostgreSQL) is set-up, not part of a case's time.
      beforeAll(async () => void (await h.get()), 120_000);
      register(driver, h.get);
    });
  }
}
