import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaPg } from "@prisma/adapter-pg";
import { TenantIsolationError } from "@ops/core";
import { requireService, testPgAdminUrl } from "@ops/testkit";
import { TenantScope, tenantExtension } from "@ops/tenancy";
import { createRlsFixture, type RlsFixture } from "./pg-fixture.js";
import { loadGeneratedPrisma } from "./prisma-client.js";

const up = await requireService("postgres");

type Row = { tenantId: string | null; body: string };
interface IncidentDelegate {
  findMany(args?: { select?: { tenantId: true; body: true }; orderBy?: { body: "asc" } }): PromiseLike<Row[]>;
  create(args: { data: { tenantId: string | null; body: string } }): PromiseLike<Row>;
}
interface Tx {
  incident: IncidentDelegate;
  $executeRaw(q: TemplateStringsArray, ...v: unknown[]): PromiseLike<number>;
}
interface Client extends Tx {
  $transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  $transaction<T extends unknown[]>(batch: [...{ [K in keyof T]: PromiseLike<T[K]> }]): Promise<T>;
  $extends(ext: unknown): Client & { $withTenant<R>(fn: (tx: Tx) => Promise<R>, opts?: { tenantId?: string | null }): Promise<R> };
  $disconnect(): Promise<void>;
}

const select = { select: { tenantId: true, body: true }, orderBy: { body: "asc" } } as const;

describe.skipIf(!up)("tenantExtension on a real Prisma 7 client (adapter-pg, app role, RLS)", () => {
  let fx: RlsFixture;
  let base: Client;
  const clients: Client[] = [];

  beforeAll(async () => {
    fx = await createRlsFixture("prisma");
    await fx.admin.query(`INSERT INTO ${fx.schema}.ops_incidents (tenant_id, body) VALUES ('acme', 'a1'), ('globex', 'g1')`);
    const { PrismaClient } = await loadGeneratedPrisma();
    const url = new URL(testPgAdminUrl());
    url.username = fx.role;
    const adapter = new PrismaPg(
      { connectionString: url.toString(), options: `-c search_path=${fx.schema}`, max: 2 },
      { schema: fx.schema },
    );
    base = new PrismaClient({ adapter }) as Client;
    clients.push(base);
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.$disconnect()));
    await fx?.drop();
  });

  const truth = async (body: string) =>
    (await fx.admin.query(`SELECT tenant_id FROM ${fx.schema}.ops_incidents WHERE body = $1`, [body])).rows;

  it("$withTenant sees only the tenant's rows and cannot write another's", async () => {
    const prisma = base.$extends(tenantExtension());
    expect(await prisma.$withTenant((tx) => Promise.resolve(tx.incident.findMany(select)), { tenantId: "acme" })).toEqual([
      { tenantId: "acme", body: "a1" },
    ]);
    const fromScope = await new TenantScope("globex").run(() => prisma.$withTenant(async (tx) => tx.incident.findMany(select)));
    expect(fromScope).toEqual([{ tenantId: "globex", body: "g1" }]);
    await expect(
      prisma.$withTenant(async (tx) => tx.incident.create({ data: { tenantId: "globex", body: "planted" } }), { tenantId: "acme" }),
    ).rejects.toThrow();
    expect(await truth("planted")).toEqual([]);
  });

  it("a throw rolls back every query of $withTenant", async () => {
    const prisma = base.$extends(tenantExtension());
    await expect(
      prisma.$withTenant(
        async (tx) => {
          await tx.incident.create({ data: { tenantId: "acme", body: "r1" } });
          await tx.incident.create({ data: { tenantId: "acme", body: "r2" } });
          throw new Error("boom");
        },
        { tenantId: "acme" },
      ),
    ).rejects.toThrow("boom");
    expect(await truth("r1")).toEqual([]);
    expect(await truth("r2")).toEqual([]);
    await prisma.$withTenant(async (tx) => tx.incident.create({ data: { tenantId: "acme", body: "kept" } }), { tenantId: "acme" });
    expect(await truth("kept")).toEqual([{ tenant_id: "acme" }]);
  });

  it("refuses queries outside $withTenant, including a lazy query built in a scope and awaited after it", async () => {
    const prisma = base.$extends(tenantExtension());
    await expect(Promise.resolve(prisma.incident.findMany())).rejects.toThrow(TenantIsolationError);
    const built = new TenantScope("acme").run(() => ({ q: prisma.incident.findMany() }));
    await expect(Promise.resolve(built.q)).rejects.toThrow(/outside \$withTenant/);
    // Inside the scope but outside $withTenant it is refused too: no transaction carries the tenant.
    await expect(new TenantScope("acme").run(async () => await prisma.incident.findMany())).rejects.toThrow(TenantIsolationError);
  });

  it("the per-query-transaction pattern (prisma#20678) loses rollback; ours does not", async () => {
    // What the RLS example extension does: each query in its own batch transaction with set_config.
    const naive = base.$extends({
      query: {
        $allOperations({ args, query }: { args: unknown; query: (a: unknown) => PromiseLike<unknown> }) {
          return base.$transaction([base.$executeRaw`SELECT set_config('app.tenant_id', 'acme', true)`, query(args)]).then((r) => r[1]);
        },
      },
    });
    await naive
      .$transaction(async (tx) => {
        await tx.incident.create({ data: { tenantId: "acme", body: "naive-should-roll-back" } });
        throw new Error("rollback");
      })
      .catch(() => undefined);
    const leaked = await truth("naive-should-roll-back");
    const ours = base.$extends(tenantExtension());
    await ours
      .$withTenant(
        async (tx) => {
          await tx.incident.create({ data: { tenantId: "acme", body: "ours-rolled-back" } });
          throw new Error("rollback");
        },
        { tenantId: "acme" },
      )
      .catch(() => undefined);
    expect(await truth("ours-rolled-back")).toEqual([]);
    // Prisma 7.10: the hidden batch transaction committed on its own, outside the rolled-back one.
    expect(leaked).toEqual([{ tenant_id: "acme" }]);
  });
});
