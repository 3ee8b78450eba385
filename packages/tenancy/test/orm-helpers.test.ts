import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { bigserial, pgTable, text } from "drizzle-orm/pg-core";
import { eq } from "drizzle-orm";
import { TenantIsolationError } from "@ops/core";
import { requireService } from "@ops/testkit";
import { TenantScope, currentTenant, tenantExtension, type PrismaTenantTx } from "@ops/tenancy";
import { drizzleWithCurrentTenant, drizzleWithTenant } from "@ops/tenancy/drizzle";
import { createRlsFixture, type RlsFixture } from "./pg-fixture.js";

const up = await requireService("postgres");

const incidents = pgTable("ops_incidents", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  tenantId: text("tenant_id"),
  body: text("body").notNull(),
});

/**
 * The part of a Prisma client the extension touches, over a real pg pool: an interactive
 * `$transaction` (one connection, BEGIN/COMMIT/ROLLBACK), tagged `$executeRaw`, a lazy model
 * query (runs only when awaited, like PrismaPromise), and `$extends` applying `client` methods and
 * `query.$allOperations` the way Prisma does.
 */
function miniPrisma(pool: pg.Pool) {
  type Runner = { query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }> };
  let hook:
    | ((p: { model?: string; operation: string; args: unknown; query: (a: unknown) => PromiseLike<unknown> }) => PromiseLike<unknown>)
    | undefined;
  const lazy = <T>(model: string | undefined, operation: string, args: unknown, run: (a: unknown) => Promise<T>): PromiseLike<T> => ({
    then(onOk, onErr) {
      const exec = () =>
        hook ? (hook({ model, operation, args, query: run as (a: unknown) => Promise<unknown> }) as Promise<T>) : run(args);
      return exec().then(onOk, onErr);
    },
  });
  const bind = (runner: Runner) => ({
    $executeRaw(strings: TemplateStringsArray, ...values: unknown[]) {
      const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? `$${i + 1}` : ""), "");
      return lazy(undefined, "$executeRaw", values, async () => (await runner.query(text, values)).rowCount ?? 0);
    },
    incident: {
      findMany: () =>
        lazy("Incident", "findMany", {}, async () => (await runner.query("SELECT tenant_id, body FROM ops_incidents ORDER BY body")).rows),
      create: (args: { data: { tenantId: string; body: string } }) =>
        lazy("Incident", "create", args, async (a) => {
          const { data } = a as typeof args;
          return (
            await runner.query("INSERT INTO ops_incidents (tenant_id, body) VALUES ($1, $2) RETURNING body", [data.tenantId, data.body])
          ).rows[0];
        }),
    },
  });
  const client = {
    ...bind(pool),
    async $transaction<T>(fn: (tx: ReturnType<typeof bind>) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      try {
        await conn.query("BEGIN");
        const out = await fn(bind(conn));
        await conn.query("COMMIT");
        return out;
      } catch (err) {
        await conn.query("ROLLBACK");
        throw err;
      } finally {
        conn.release();
      }
    },
    $extends(ext: ReturnType<typeof tenantExtension>) {
      hook = ext.query.$allOperations;
      return Object.assign(client, { $withTenant: ext.client.$withTenant });
    },
  };
  return client;
}

describe.skipIf(!up)("ORM helpers against PostgreSQL RLS (app role)", () => {
  let fx: RlsFixture;
  let pool: pg.Pool;

  beforeAll(async () => {
    fx = await createRlsFixture("orm");
    pool = fx.app(2);
    await fx.admin.query(
      `INSERT INTO ${fx.schema}.ops_incidents (tenant_id, body) VALUES ('acme', 'a1'), ('globex', 'g1'), ('hooli', 'h1')`,
    );
  });
  afterAll(async () => {
    await fx?.drop();
  });

  const truth = async (body: string) =>
    (await fx.admin.query(`SELECT tenant_id FROM ${fx.schema}.ops_incidents WHERE body = $1`, [body])).rows;

  describe("drizzleWithTenant (drizzle-orm 0.45.4, node-postgres)", () => {
    it("scopes selects and refuses cross-tenant inserts", async () => {
      const db = drizzle(pool);
      const rows = await drizzleWithTenant(db, "acme", (tx) => tx.select({ body: incidents.body }).from(incidents));
      expect(rows).toEqual([{ body: "a1" }]);
      const probe = await drizzleWithTenant(db, "acme", (tx) => tx.select().from(incidents).where(eq(incidents.tenantId, "globex")));
      expect(probe).toEqual([]);
      await expect(
        drizzleWithTenant(db, "acme", (tx) => tx.insert(incidents).values({ tenantId: "globex", body: "x" })),
      ).rejects.toMatchObject({
        cause: { code: "42501" },
      });
    });

    it("rolls back on throw and on tx.rollback(), setting included", async () => {
      const db = drizzle(pool);
      await expect(
        drizzleWithTenant(db, "acme", async (tx) => {
          await tx.insert(incidents).values({ tenantId: "acme", body: "d-throw" });
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      await expect(
        drizzleWithTenant(db, "acme", async (tx) => {
          await tx.insert(incidents).values({ tenantId: "acme", body: "d-rollback" });
          tx.rollback();
        }),
      ).rejects.toThrow(/rollback/i);
      expect(await truth("d-throw")).toEqual([]);
      expect(await truth("d-rollback")).toEqual([]);
      await drizzleWithTenant(db, "acme", (tx) => tx.insert(incidents).values({ tenantId: "acme", body: "d-commit" }));
      expect(await truth("d-commit")).toEqual([{ tenant_id: "acme" }]);
    });

    it("a nested drizzleWithTenant on a tx is a savepoint that rolls back alone", async () => {
      const db = drizzle(pool);
      await drizzleWithTenant(db, "acme", async (tx) => {
        await tx.insert(incidents).values({ tenantId: "acme", body: "outer-kept" });
        await drizzleWithTenant(tx, "acme", async (inner) => {
          await inner.insert(incidents).values({ tenantId: "acme", body: "inner-dropped" });
          throw new Error("inner");
        }).catch(() => undefined);
      });
      expect(await truth("outer-kept")).toEqual([{ tenant_id: "acme" }]);
      expect(await truth("inner-dropped")).toEqual([]);
    });

    it("after a nested drizzleWithTenant on a global-scope tx, the outer tx is global again (review)", async () => {
      const db = drizzle(pool);
      const { inner, outer } = await drizzleWithTenant(db, null, async (tx) => {
        const inner = await drizzleWithTenant(tx, "acme", (t) => t.select({ body: incidents.body }).from(incidents));
        // Back in the global scope: only global rows (none here), never acme's.
        const outer = await tx.select({ body: incidents.body }).from(incidents);
        return { inner, outer };
      });
      expect(inner.map((r) => r.body)).toContain("a1");
      expect(outer).toEqual([]);
    });

    it("uses the current scope, and refuses outside one", async () => {
      const db = drizzle(pool);
      const rows = await new TenantScope("globex").run(() =>
        drizzleWithCurrentTenant(db, async (tx) => ({
          scope: currentTenant(),
          rows: await tx.select({ body: incidents.body }).from(incidents),
        })),
      );
      expect(rows).toEqual({ scope: "globex", rows: [{ body: "g1" }] });
      expect(() => drizzleWithCurrentTenant(db, async () => 1)).toThrow(TenantIsolationError);
    });
  });

  describe("tenantExtension through a minimal Prisma-shaped client (the real client: prisma-real.test.ts)", () => {
    it("$withTenant scopes queries and rolls back the whole interactive transaction", async () => {
      const prisma = miniPrisma(pool).$extends(tenantExtension());
      type Tx = PrismaTenantTx & ReturnType<typeof miniPrisma>;
      const seen = await prisma.$withTenant<unknown, Tx>((tx) => tx.incident.findMany() as Promise<unknown>, { tenantId: "hooli" });
      expect(seen).toEqual([{ tenant_id: "hooli", body: "h1" }]);
      await expect(
        prisma.$withTenant<unknown, Tx>(
          async (tx) => {
            await tx.incident.create({ data: { tenantId: "hooli", body: "p-first" } });
            await tx.incident.create({ data: { tenantId: "hooli", body: "p-second" } });
            throw new Error("boom");
          },
          { tenantId: "hooli" },
        ),
      ).rejects.toThrow("boom");
      // prisma#20678: with per-query hidden transactions, p-first/p-second would have committed.
      expect(await truth("p-first")).toEqual([]);
      expect(await truth("p-second")).toEqual([]);
      await expect(
        prisma.$withTenant<unknown, Tx>((tx) => tx.incident.create({ data: { tenantId: "globex", body: "p-x" } }) as Promise<unknown>, {
          tenantId: "hooli",
        }),
      ).rejects.toMatchObject({ code: "42501" });
    });

    it("refuses a query outside $withTenant, including a lazy query built in a scope and awaited after it", async () => {
      const prisma = miniPrisma(pool).$extends(tenantExtension());
      await expect(Promise.resolve(prisma.incident.findMany())).rejects.toThrow(TenantIsolationError);
      // Built inside the scope, awaited outside: would run with no tenant.
      const pending = new TenantScope("acme").run(() => ({ q: prisma.incident.findMany() }));
      await expect(Promise.resolve(pending.q)).rejects.toThrow(/outside \$withTenant/);
    });

    it("takes the tenant from the current scope and refuses switching tenants", async () => {
      const prisma = miniPrisma(pool).$extends(tenantExtension());
      type Tx = PrismaTenantTx & ReturnType<typeof miniPrisma>;
      const rows = await new TenantScope("globex").run(() =>
        prisma.$withTenant<unknown, Tx>((tx) => tx.incident.findMany() as Promise<unknown>),
      );
      expect(rows).toEqual([{ tenant_id: "globex", body: "g1" }]);
      expect(() => new TenantScope("globex").run(() => prisma.$withTenant(async () => 1, { tenantId: "acme" }))).toThrow(
        TenantIsolationError,
      );
    });
  });
});
