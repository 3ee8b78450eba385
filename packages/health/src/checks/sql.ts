import * as z from "zod";
import type { HealthCheck } from "../types.js";
import {
  BaseCheckOptionsShape,
  elapsedMs,
  invalidArgument,
  latencyMessage,
  latencyStatus,
  parseCheckOptions,
  type BaseCheckOptions,
} from "./common.js";

/** A pg `Pool` or `Client` (or anything with `query(sql)`). */
export interface PgQueryable {
  query(sql: string): Promise<unknown>;
}
/** What a pg `Pool` adds: a checked-out client that can be destroyed when the check times out. */
interface PgPoolLike extends PgQueryable {
  connect(): Promise<{ query(sql: string): Promise<unknown>; release(destroy?: boolean | Error): void }>;
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}
/** A Prisma client: `$queryRawUnsafe` or the `$queryRaw` tag. */
export interface PrismaLike {
  $queryRawUnsafe?: (sql: string) => PromiseLike<unknown>;
  $queryRaw?: (sql: TemplateStringsArray) => PromiseLike<unknown>;
}
/** A Drizzle database (node-postgres, postgres.js, PGlite...): `execute(sql)`. */
export interface DrizzleLike {
  execute(sql: string): PromiseLike<unknown>;
}

export interface SqlCheckOptions extends BaseCheckOptions {
  /** Report warn (degraded) when `SELECT 1` takes longer than this many ms. */
  warnAboveMs?: number;
}

const OptionsSchema = z.object({
  ...BaseCheckOptionsShape,
  warnAboveMs: z.number().positive("expected warnAboveMs > 0").optional(),
});

const SELECT_1 = "SELECT 1";
const SELECT_1_TEMPLATE = Object.assign([SELECT_1], { raw: [SELECT_1] }) as unknown as TemplateStringsArray;

function isPool(db: unknown): db is PgPoolLike {
  const d = db as Partial<PgPoolLike>;
  return typeof d.connect === "function" && typeof d.totalCount === "number";
}

/**
 * `SELECT 1` through a pg Pool or Client. With a Pool the query runs on a checked-out client,
 * which is destroyed (not returned to the pool) if the check times out; pool counters go to
 * `details`. Remember pg's own `connectionTimeoutMillis`: a connect stuck on an unreachable host
 * is abandoned by the check at its timeout but only ended by pg.
 * @throws ValidationError on bad options
 */
export function pgCheck(pool: PgQueryable, options?: SqlCheckOptions): HealthCheck {
  if (typeof pool?.query !== "function") throw invalidArgument("pgCheck", "pool", "expected a pg Pool or Client with query()");
  const opts = parseCheckOptions(OptionsSchema, options, "pgCheck");
  return sqlHealthCheck(
    opts,
    async (signal) => {
      if (!isPool(pool)) return pool.query(SELECT_1);
      const client = await pool.connect();
      const onAbort = () => client.release(true);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await client.query(SELECT_1);
      } finally {
        if (!signal.aborted) {
          signal.removeEventListener("abort", onAbort);
          client.release();
        }
      }
    },
    () => (isPool(pool) ? { totalCount: pool.totalCount, idleCount: pool.idleCount, waitingCount: pool.waitingCount } : undefined),
  );
}

/**
 * `SELECT 1` through a Prisma client (`$queryRawUnsafe`, else `$queryRaw`).
 * @throws ValidationError on bad options or when `prisma` has neither method
 */
export function prismaCheck(prisma: PrismaLike, options?: SqlCheckOptions): HealthCheck {
  const unsafe = prisma?.$queryRawUnsafe;
  const tagged = prisma?.$queryRaw;
  if (typeof unsafe !== "function" && typeof tagged !== "function")
    throw invalidArgument("prismaCheck", "prisma", "expected a Prisma client with $queryRawUnsafe or $queryRaw");
  const opts = parseCheckOptions(OptionsSchema, options, "prismaCheck");
  return sqlHealthCheck(opts, async () => {
    if (typeof unsafe === "function") await unsafe.call(prisma, SELECT_1);
    else await tagged!.call(prisma, SELECT_1_TEMPLATE);
  });
}

/**
 * `SELECT 1` through a Drizzle database (`db.execute`).
 * @throws ValidationError on bad options or when `db` has no `execute`
 */
export function drizzleCheck(db: DrizzleLike, options?: SqlCheckOptions): HealthCheck {
  if (typeof db?.execute !== "function") throw invalidArgument("drizzleCheck", "db", "expected a Drizzle database with execute()");
  const opts = parseCheckOptions(OptionsSchema, options, "drizzleCheck");
  return sqlHealthCheck(opts, async () => {
    await db.execute(SELECT_1);
  });
}

function sqlHealthCheck(
  opts: z.output<typeof OptionsSchema>,
  query: (signal: AbortSignal) => Promise<unknown>,
  details?: () => Record<string, number> | undefined,
): HealthCheck {
  const check: HealthCheck = {
    name: opts.name ?? "postgres",
    componentType: "datastore",
    measurement: "responseTime",
    run: async ({ signal }) => {
      const started = performance.now();
      await query(signal);
      const ms = elapsedMs(started);
      const d = details?.();
      return {
        status: latencyStatus(ms, opts.warnAboveMs),
        message: latencyMessage("SELECT 1", ms, opts.warnAboveMs),
        observedValue: ms,
        observedUnit: "ms",
        ...(d ? { details: d } : {}),
      };
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}
