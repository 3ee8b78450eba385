import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OPS_MIGRATIONS, migrationStatements } from "../src/index.js";

const pkg = join(import.meta.dirname, "..");

describe("one migration set", () => {
  const source = readdirSync(join(pkg, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort();

  it("the generated module is migrations/*.sql (run scripts/sync-migrations.mjs after a change)", () => {
    expect(OPS_MIGRATIONS.map((m) => `${m.name}.sql`)).toEqual(source);
    for (const m of OPS_MIGRATIONS) expect(m.sql).toBe(readFileSync(join(pkg, "migrations", `${m.name}.sql`), "utf8"));
  });

  it("the Drizzle and Prisma folders hold the same files, byte for byte", () => {
    for (const f of source) {
      const sql = readFileSync(join(pkg, "migrations", f), "utf8");
      expect(readFileSync(join(pkg, "..", "drizzle", "migrations", f), "utf8")).toBe(sql);
      expect(readFileSync(join(pkg, "..", "prisma", "prisma", "migrations", f.replace(/\.sql$/, ""), "migration.sql"), "utf8")).toBe(sql);
    }
  });

  it("splits drizzle-kit's statement breakpoints and keeps dollar-quoted bodies whole", () => {
    const all = OPS_MIGRATIONS.flatMap((m) => migrationStatements(m.sql));
    expect(all.some((s) => s.startsWith('CREATE TABLE "ops_audit_entries"'))).toBe(true);
    const fn = all.find((s) => s.includes("FUNCTION ops_audit_entries_append_only"));
    expect(fn).toMatch(/\$\$[\s\S]*RAISE EXCEPTION[\s\S]*\$\$;?$/);
    expect(all.every((s) => !s.includes("statement-breakpoint"))).toBe(true);
  });
});
