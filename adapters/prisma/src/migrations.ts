import { ConflictError } from "@ops/core";
import type { PrismaClientLike } from "./client.js";
import { inTransaction } from "./client.js";
import { mapPrismaError } from "./errors.js";
import { OPS_MIGRATIONS } from "./migrations.generated.js";

export { OPS_MIGRATIONS };

/** Splits a migration into statements at drizzle-kit's `--> statement-breakpoint` markers. */
export function migrationStatements(sql: string): string[] {
  return sql
    .split(/^\s*--> statement-breakpoint\s*$|--> statement-breakpoint/m)
    .map((s) => s.trim())
    .filter((s) => s.replace(/^--.*$/gm, "").trim() !== "");
}

/**
 * Applies every @ops migration through the app's Prisma client, in one transaction, to a database
 * that has none of the @ops tables yet (tests, previews, a first deploy without Prisma Migrate).
 * Tables go to the connection's search_path schema. In production prefer copying
 * `prisma/migrations/*` into your own migrations folder and running `prisma migrate deploy`.
 * @throws ConflictError when the tables already exist; UnavailableError when the database is down.
 */
export async function applyOpsMigrations(prisma: PrismaClientLike, options: { timeoutMs?: number } = {}): Promise<void> {
  try {
    await inTransaction(
      prisma,
      async (tx) => {
        for (const migration of OPS_MIGRATIONS)
          for (const statement of migrationStatements(migration.sql)) await tx.$executeRawUnsafe(statement);
      },
      { timeout: options.timeoutMs ?? 60_000 },
    );
  } catch (err) {
    // 42P07: relation already exists (the tables were created before).
    if (/42P07|already exists/.test(err instanceof Error ? err.message : String(err)))
      throw new ConflictError("[ops/adapter-prisma] applyOpsMigrations: the @ops tables already exist", { cause: err });
    throw mapPrismaError(err, "applyOpsMigrations");
  }
}
