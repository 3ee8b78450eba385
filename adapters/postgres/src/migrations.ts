import { ConflictError } from "@ops/core";
import { mapPgError } from "./errors.js";
import type { PgExecutor } from "./executor.js";
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
 * Applies every @ops migration, in one transaction, to a database that has none of the @ops
 * tables yet (tests, previews, a first deploy without a migration tool). Tables go to the
 * connection's search_path schema. In production prefer your migration tool with the shipped SQL
 * (`migrations/*.sql`, or the Drizzle/Prisma folders of the shims).
 * @throws ConflictError when the tables already exist; UnavailableError when the database is down.
 */
export async function applyOpsMigrations(exec: PgExecutor, options: { pkg?: string } = {}): Promise<void> {
  const pkg = options.pkg ?? "adapter-postgres";
  try {
    await exec.transaction(async (tx) => {
      for (const migration of OPS_MIGRATIONS) for (const statement of migrationStatements(migration.sql)) await tx.query(statement, []);
    });
  } catch (err) {
    // 42P07: relation already exists (the tables were created before).
    const text = `${(err as { code?: unknown })?.code ?? ""} ${err instanceof Error ? err.message : String(err)}`;
    if (/42P07|already exists/.test(text))
      throw new ConflictError(`[ops/${pkg}] applyOpsMigrations: the @ops tables already exist`, { cause: err, retryable: false });
    throw mapPgError(err, "applyOpsMigrations", pkg);
  }
}
