import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireService } from "@ops/testkit";
import { OPS_MIGRATIONS } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { expectedSqlType, parsePrismaModels } from "./helpers/prisma-schema.js";

const pkgDir = join(import.meta.dirname, "..");
const fragment = readFileSync(join(pkgDir, "prisma", "ops.prisma"), "utf8");
const models = parsePrismaModels(fragment);
/** Indexes Prisma cannot express (a partial UNIQUE with NULLS NOT DISTINCT); they live in the SQL only. */
const SQL_ONLY_INDEXES = new Set(["ops_incidents_active_fingerprint_key"]);

describe("prisma/ops.prisma and the SQL migrations", () => {
  it("ships the migrations as files and as the module applyOpsMigrations uses, identically", () => {
    const dir = join(pkgDir, "prisma", "migrations");
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(OPS_MIGRATIONS.map((m) => m.name)).toEqual(names);
    for (const m of OPS_MIGRATIONS) expect(m.sql).toBe(readFileSync(join(dir, m.name, "migration.sql"), "utf8"));
  });

  const drizzleDir = join(pkgDir, "..", "drizzle", "migrations");
  it.skipIf(!existsSync(drizzleDir))("are the same SQL as @ops/adapter-drizzle's (one database, either adapter)", () => {
    const drizzle = readdirSync(drizzleDir)
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(OPS_MIGRATIONS.map((m) => `${m.name}.sql`)).toEqual(drizzle);
    for (const m of OPS_MIGRATIONS) expect(m.sql).toBe(readFileSync(join(drizzleDir, `${m.name}.sql`), "utf8"));
  });

  it("the fragment's models include the seed's AuthOpsLog on the auth events table", () => {
    const log = models.find((m) => m.name === "AuthOpsLog");
    expect(log?.table).toBe("ops_auth_events");
    expect(log?.fields.map((f) => f.name)).toEqual(expect.arrayContaining(["id", "type", "occurredAt", "tenantId", "userId", "provider"]));
  });
});

const up = await requireService("postgres");

describe.skipIf(!up)("the fragment describes exactly the tables the SQL creates", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("parity");
  });
  afterAll(async () => db?.drop());

  it("same tables", async () => {
    const { rows } = await db.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
      [db.schema],
    );
    expect(rows.map((r) => r.table_name)).toEqual(models.map((m) => m.table).sort());
  });

  for (const model of models) {
    it(`${model.name} (${model.table}): same columns, types, nullability and primary key`, async () => {
      const { rows } = await db.pool.query(
        `SELECT column_name, data_type, is_nullable, datetime_precision FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name`,
        [db.schema, model.table],
      );
      const actual = rows.map((r) => ({
        column: r.column_name,
        type: r.data_type,
        nullable: r.is_nullable === "YES",
        ...(r.data_type.startsWith("timestamp") ? { precision: r.datetime_precision } : {}),
      }));
      const expected = model.fields
        .map((f) => {
          const type = expectedSqlType(f);
          const precision = /\((\d+)\)/.exec(f.nativeType ?? "")?.[1];
          return {
            column: f.column,
            type,
            nullable: f.optional,
            ...(type.startsWith("timestamp") ? { precision: precision === undefined ? 3 : Number(precision) } : {}),
          };
        })
        .sort((a, b) => (a.column < b.column ? -1 : 1));
      expect(actual).toEqual(expected);

      const pk = await db.pool.query(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = $1::regclass AND i.indisprimary`,
        [`${db.schema}.${model.table}`],
      );
      expect(pk.rows.map((r) => r.attname)).toEqual(model.fields.filter((f) => f.id).map((f) => f.column));
    });

    it(`${model.name} (${model.table}): same index and unique-constraint names, columns and uniqueness`, async () => {
      const { rows } = await db.pool.query(
        `SELECT c.relname AS name, i.indisunique AS unique,
                array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = $1::regclass AND NOT i.indisprimary ORDER BY c.relname`,
        [`${db.schema}.${model.table}`],
      );
      const actual = rows.filter((r) => !SQL_ONLY_INDEXES.has(r.name)).map((r) => ({ name: r.name, unique: r.unique, columns: r.columns }));
      const expected = [...model.indexes].sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(actual).toEqual(expected);
    });
  }
});
