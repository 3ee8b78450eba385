import * as z from "zod";
import { parseInput } from "@ops/core";

/** The setting every policy reads. Set transaction-locally by `withTenant`. */
export const TENANT_SETTING = "app.tenant_id";

/**
 * The value of `app.tenant_id` that selects the global scope (rows with `tenant_id IS NULL`).
 * It contains characters `TenantIdSchema` rejects, so no real tenant id can ever equal it.
 */
export const GLOBAL_SCOPE_SETTING = "(global)";

/**
 * How a table's global rows (`tenant_id IS NULL`) are seen from inside a tenant:
 * - `"scoped"`: only from the global scope (`withTenant(tx, null, ...)`); a tenant never sees them.
 * - `"shared-read"`: every tenant may read them (never write them); used for flag definitions,
 *   which every tenant evaluates together with its own overrides.
 */
export type GlobalRowAccess = "scoped" | "shared-read";

/** One tenant-owned table. */
export interface RlsTable {
  name: string;
  /** Column holding the tenant id (`text`, NULL for global rows). Default `tenant_id`. */
  tenantColumn?: string;
  /** Default `"scoped"`. */
  globalRows?: GlobalRowAccess;
  /** Privileges `grantTo` receives (default all four; append-only tables get SELECT, INSERT). */
  privileges?: ReadonlyArray<"SELECT" | "INSERT" | "UPDATE" | "DELETE">;
}

/**
 * The tables the @ops PostgreSQL adapters (Drizzle, Prisma) create, with how each is isolated.
 * Audit tables are append-only: the app role gets SELECT and INSERT only.
 */
export const OPS_RLS_TABLES: readonly Readonly<RlsTable>[] = Object.freeze([
  { name: "ops_audit_entries", globalRows: "scoped", privileges: ["SELECT", "INSERT"] },
  { name: "ops_audit_subject_keys", globalRows: "scoped" },
  { name: "ops_flags", globalRows: "shared-read" },
  { name: "ops_incidents", globalRows: "scoped" },
  { name: "ops_incident_models", globalRows: "scoped" },
  { name: "ops_auth_events", globalRows: "scoped" },
  { name: "ops_counters", globalRows: "scoped" },
  { name: "ops_outbox", globalRows: "scoped" },
  { name: "ops_flag_change_requests", globalRows: "scoped" },
  { name: "ops_effects", globalRows: "scoped" },
]);

/** Just the names, for adapters and migrations. */
export const OPS_TABLE_NAMES: readonly string[] = Object.freeze(OPS_RLS_TABLES.map((t) => t.name));

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const identSchema = z.string().regex(IDENT, "expected a SQL identifier (letters, digits, _ and $, at most 63)");

const RlsSqlOptionsSchema = z.object({
  tables: z
    .array(
      z.object({
        name: identSchema,
        tenantColumn: identSchema.optional(),
        globalRows: z.enum(["scoped", "shared-read"]).optional(),
        privileges: z
          .array(z.enum(["SELECT", "INSERT", "UPDATE", "DELETE"]))
          .min(1)
          .optional(),
      }),
    )
    .min(1, "expected at least one table")
    .optional(),
  schema: identSchema.optional(),
  grantTo: identSchema.optional(),
  serviceRoles: z.array(identSchema).optional(),
  policyPrefix: identSchema.optional(),
});

export interface RlsSqlOptions {
  /** Default `OPS_RLS_TABLES`. */
  tables?: readonly RlsTable[];
  /** Schema qualifying the table names (default: unqualified, resolved by `search_path`). */
  schema?: string;
  /** The app's role: gets USAGE on the schema and each table's privileges. Never a superuser. */
  grantTo?: string;
  /**
   * Roles that serve every tenant (the outbox worker, an incident sweeper): a policy lets them see
   * and write every row. Prefer this to BYPASSRLS so the exemption shows in `pg_policies`.
   */
  serviceRoles?: readonly string[];
  /** Prefix of the policy names (default `ops`). */
  policyPrefix?: string;
}

function q(ident: string): string {
  return `"${ident.replace(/"/g, '""')}"`;
}

/**
 * The current scope: NULL when the setting is missing (NULL) or was reset to '' (what
 * `current_setting(..., true)` returns after a transaction-local set ends on a pooled connection).
 */
const SETTING = `NULLIF(current_setting('${TENANT_SETTING}', true), '')`;

/** Rows the current scope owns: its tenant's rows, or the global rows in the global scope. */
function ownPredicate(col: string): string {
  return `(${col} = ${SETTING} OR (${col} IS NULL AND ${SETTING} = '${GLOBAL_SCOPE_SETTING}'))`;
}

/** Grants USAGE on the sequences a table owns (serial and identity columns) to `role`. */
function grantSequences(table: string, role: string): string {
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return (
    `DO $ops$ DECLARE s regclass; BEGIN FOR s IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid ` +
    `WHERE d.refobjid = ${lit(table)}::regclass AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND c.relkind = 'S' ` +
    `LOOP EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', s, ${lit(role)}); END LOOP; END $ops$;`
  );
}

/**
 * SQL statements that ENABLE and FORCE row-level security on every table and create its policies.
 * Idempotent (policies are dropped and re-created), so it can run in every migration.
 *
 * Semantics, for each table:
 * - no scope set (`app.tenant_id` missing or ''): no row is visible and no write passes (fail closed);
 * - tenant `t`: rows with `tenant_id = 't'` are read and written; inserts/updates of any other
 *   `tenant_id` fail with "new row violates row-level security policy";
 * - global scope (`app.tenant_id = '(global)'`): rows with `tenant_id IS NULL` only;
 * - `globalRows: "shared-read"` tables also let every tenant read (never write) the global rows.
 * FORCE makes the policies apply to the table owner too; superusers and BYPASSRLS roles still
 * bypass them, so the app must connect as an ordinary role (`grantTo`).
 * @throws ValidationError when a name is not a plain SQL identifier.
 */
export function rlsStatements(options: RlsSqlOptions = {}): string[] {
  const opts = parseInput(RlsSqlOptionsSchema, options, { pkg: "tenancy", what: "rlsSql options" });
  const tables = opts.tables ?? OPS_RLS_TABLES;
  const prefix = opts.policyPrefix ?? "ops";
  const out: string[] = [];
  if (opts.grantTo && opts.schema) out.push(`GRANT USAGE ON SCHEMA ${q(opts.schema)} TO ${q(opts.grantTo)};`);
  for (const t of tables) {
    const table = opts.schema ? `${q(opts.schema)}.${q(t.name)}` : q(t.name);
    const col = q(t.tenantColumn ?? "tenant_id");
    const own = ownPredicate(col);
    out.push(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;`);
    out.push(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;`);
    out.push(`DROP POLICY IF EXISTS ${q(`${prefix}_tenant_rows`)} ON ${table};`);
    out.push(`CREATE POLICY ${q(`${prefix}_tenant_rows`)} ON ${table} AS PERMISSIVE FOR ALL TO PUBLIC USING ${own} WITH CHECK ${own};`);
    out.push(`DROP POLICY IF EXISTS ${q(`${prefix}_global_read`)} ON ${table};`);
    if ((t.globalRows ?? "scoped") === "shared-read")
      out.push(
        `CREATE POLICY ${q(`${prefix}_global_read`)} ON ${table} AS PERMISSIVE FOR SELECT TO PUBLIC USING (${col} IS NULL AND ${SETTING} IS NOT NULL);`,
      );
    out.push(`DROP POLICY IF EXISTS ${q(`${prefix}_service_all`)} ON ${table};`);
    if (opts.serviceRoles && opts.serviceRoles.length > 0)
      out.push(
        `CREATE POLICY ${q(`${prefix}_service_all`)} ON ${table} AS PERMISSIVE FOR ALL TO ${opts.serviceRoles.map(q).join(", ")} USING (true) WITH CHECK (true);`,
      );
    if (opts.grantTo) {
      const privileges = t.privileges ?? ["SELECT", "INSERT", "UPDATE", "DELETE"];
      out.push(`GRANT ${privileges.join(", ")} ON ${table} TO ${q(opts.grantTo)};`);
      // Inserting into a serial/identity column needs its sequence too.
      if (privileges.includes("INSERT")) out.push(grantSequences(table, opts.grantTo));
    }
  }
  return out;
}

/**
 * `rlsStatements` joined into one script, ready to paste into a migration.
 * @throws ValidationError when a name is not a plain SQL identifier.
 */
export function rlsSql(options: RlsSqlOptions = {}): string {
  return `-- @ops/tenancy row-level security (policies keyed on current_setting('${TENANT_SETTING}', true))\n${rlsStatements(options).join("\n")}\n`;
}
