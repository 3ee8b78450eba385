import { nodePgExecutor, pgliteExecutor, type PgliteLike } from "@ops/adapter-postgres";
import { pgBackdoors } from "@ops/testkit";
import type pg from "pg";

/** The shared PostgreSQL backdoors (@ops/testkit) over the test file's own pg pool (search_path = its schema). */
export const rawOnPool = (pool: pg.Pool) => pgBackdoors(nodePgExecutor(pool));
/** The same over PGlite, beside the Prisma client under test. */
export const rawOnPglite = (lite: PgliteLike) => pgBackdoors(pgliteExecutor(lite));
