import { ConfigError, ValidationError } from "@ops/core";
import { mapPgError } from "./errors.js";
import type { PgExecutor } from "./executor.js";

/**
 * The @ops tables and what each role may do there. The audit table is append-only: nobody but
 * its owner gets UPDATE or DELETE (and a trigger rejects them for the owner too).
 */
export const OPS_TABLE_PRIVILEGES: Readonly<Record<string, readonly ("SELECT" | "INSERT" | "UPDATE" | "DELETE")[]>> = Object.freeze({
  ops_audit_entries: Object.freeze(["SELECT", "INSERT"] as const),
  ops_audit_subject_keys: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_flags: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_flag_change_requests: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_incidents: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_incident_models: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_auth_events: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_counters: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_outbox: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
  ops_effects: Object.freeze(["SELECT", "INSERT", "UPDATE", "DELETE"] as const),
});

const TABLES = Object.keys(OPS_TABLE_PRIVILEGES);
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
/** The policy that gives the service role every row (same name as @ops/tenancy's `rlsSql({ serviceRoles })`). */
export const OPS_SERVICE_POLICY = "ops_service_all";

export interface OpsRoleSetupOptions {
  /**
   * Migration owner: owns the @ops tables and runs the migrations (USAGE and CREATE on the schema).
   * Never a superuser; FORCE ROW LEVEL SECURITY applies to it too, so it sees no rows at run time.
   */
  owner?: string;
  /**
   * The application role: DML on the tables (SELECT and INSERT only on `ops_audit_entries`),
   * subject to row-level security. It sees a tenant's rows only inside a transaction that set
   * `app.tenant_id` (`withTenant` from @ops/tenancy), and no row otherwise.
   */
  app?: string;
  /**
   * The service role for cross-tenant work (flag snapshot, detection ticks, incident sweeps,
   * outbox relay, retention, audit verify/export): the app role's grants plus a policy
   * (`ops_service_all`, `USING (true)`) on every table. No superuser, no BYPASSRLS: the exemption
   * shows in `pg_policies`.
   */
  service?: string;
  /** Schema of the @ops tables (default `public`). */
  schema?: string;
  /**
   * Create the roles that do not exist yet (default true), as `LOGIN NOSUPERUSER NOBYPASSRLS
   * NOCREATEDB NOCREATEROLE`, without a password: set one yourself (`ALTER ROLE ... PASSWORD`) or
   * use your platform's IAM login. Existing roles are never altered. Needs CREATEROLE.
   */
  createRoles?: boolean;
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/adapter-postgres] invalid ${path}: ${message}`, [{ path, message }]);
}

function parseSetupOptions(
  options: OpsRoleSetupOptions,
): Required<Pick<OpsRoleSetupOptions, "schema" | "createRoles">> & OpsRoleSetupOptions {
  if (options === null || typeof options !== "object") throw invalid("options", "expected an object { owner?, app?, service?, schema? }");
  for (const key of Object.keys(options))
    if (!["owner", "app", "service", "schema", "createRoles"].includes(key)) throw invalid(`options.${key}`, "unknown option");
  for (const key of ["owner", "app", "service", "schema"] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== "string" || !IDENT.test(v)))
      throw invalid(`options.${key}`, "expected a SQL identifier (letters, digits, _ and $, at most 63, not starting with a digit)");
  }
  if (options.createRoles !== undefined && typeof options.createRoles !== "boolean")
    throw invalid("options.createRoles", "expected a boolean");
  if (options.owner === undefined && options.app === undefined && options.service === undefined)
    throw invalid("options", "expected at least one of owner, app, service");
  const names = [options.owner, options.app, options.service].filter((n): n is string => n !== undefined);
  if (options.app !== undefined && (options.app === options.owner || options.app === options.service))
    throw invalid(
      "options.app",
      "the app role must be its own role: as the owner it could drop the policies, as the service role it would see every tenant",
    );
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length && options.owner !== options.service)
    throw invalid("options", "owner, app and service must be different roles");
  return { ...options, schema: options.schema ?? "public", createRoles: options.createRoles ?? true };
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;

/**
 * `body` run only when `table` exists, so the script also runs before the migrations; with
 * `notOwner`, only when that role does not own the table (grants to and revokes from the owner
 * would take its own rights away).
 */
function ifTable(qualified: string, body: string[], notOwner?: string): string {
  const owner = notOwner
    ? ` AND (SELECT relowner FROM pg_class WHERE oid = to_regclass(${lit(qualified)})) <> (SELECT oid FROM pg_roles WHERE rolname = ${lit(notOwner)})`
    : "";
  return `DO $ops$ BEGIN IF to_regclass(${lit(qualified)}) IS NOT NULL${owner} THEN ${body.join(" ")} END IF; END $ops$;`;
}

/** Grants USAGE, SELECT on the sequences `table` owns (bigserial columns) to `role`, when it exists. */
function grantSequences(qualified: string, role: string): string {
  return (
    `DO $ops$ DECLARE s regclass; BEGIN IF to_regclass(${lit(qualified)}) IS NULL THEN RETURN; END IF; ` +
    `FOR s IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid ` +
    `WHERE d.refobjid = to_regclass(${lit(qualified)}) AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND c.relkind = 'S' ` +
    `LOOP EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', s, ${lit(role)}); END LOOP; END $ops$;`
  );
}

/**
 * The SQL that creates and grants the @ops roles, statement by statement. Idempotent, and
 * runnable before the migrations (roles and schema grants only) and after them (table ownership,
 * grants and the service policy): run it again after every migration, since migration 0001
 * re-creates the policies. Run it as a role that may create roles and alter the tables (the
 * database's admin: `postgres`, the RDS/Cloud SQL master user, Supabase's `postgres`).
 * @throws ValidationError when a role or schema name is not a plain SQL identifier.
 */
export function opsRoleSetupStatements(options: OpsRoleSetupOptions): string[] {
  const o = parseSetupOptions(options);
  const schema = o.schema;
  const out: string[] = [];
  const roles = [o.owner, o.app, o.service].filter((r): r is string => r !== undefined);
  if (o.createRoles)
    for (const role of new Set(roles))
      out.push(
        `DO $ops$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit(role)}) THEN CREATE ROLE ${q(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $ops$;`,
      );
  if (o.owner) out.push(`GRANT USAGE, CREATE ON SCHEMA ${q(schema)} TO ${q(o.owner)};`);
  for (const role of [o.app, o.service]) if (role && role !== o.owner) out.push(`GRANT USAGE ON SCHEMA ${q(schema)} TO ${q(role)};`);
  if (o.owner)
    out.push(
      `DO $ops$ BEGIN IF to_regprocedure(${lit(`${q(schema)}.ops_audit_entries_append_only()`)}) IS NOT NULL THEN ALTER FUNCTION ${q(schema)}.ops_audit_entries_append_only() OWNER TO ${q(o.owner)}; END IF; END $ops$;`,
    );
  for (const table of TABLES) {
    const qualified = `${q(schema)}.${q(table)}`;
    const privileges = OPS_TABLE_PRIVILEGES[table]!;
    if (o.owner) out.push(ifTable(qualified, [`ALTER TABLE ${qualified} OWNER TO ${q(o.owner)};`]));
    for (const role of [o.app, o.service]) {
      if (!role || role === o.owner) continue;
      const denied = ["UPDATE", "DELETE", "TRUNCATE"].filter((p) => !privileges.includes(p as never));
      out.push(
        ifTable(
          qualified,
          [
            `GRANT ${privileges.join(", ")} ON ${qualified} TO ${q(role)};`,
            ...(denied.length ? [`REVOKE ${denied.join(", ")} ON ${qualified} FROM ${q(role)};`] : []),
          ],
          role,
        ),
      );
      out.push(grantSequences(qualified, role));
    }
    if (o.service)
      out.push(
        ifTable(qualified, [
          `DROP POLICY IF EXISTS ${q(OPS_SERVICE_POLICY)} ON ${qualified};`,
          `CREATE POLICY ${q(OPS_SERVICE_POLICY)} ON ${qualified} AS PERMISSIVE FOR ALL TO ${q(o.service)} USING (true) WITH CHECK (true);`,
        ]),
      );
  }
  return out;
}

/**
 * `opsRoleSetupStatements` as one script, for your migration tool or your DBA (`psql -f`).
 * @throws ValidationError when a role or schema name is not a plain SQL identifier.
 */
export function opsRoleSetupSql(options: OpsRoleSetupOptions): string {
  const stmts = opsRoleSetupStatements(options);
  const who = (["owner", "app", "service"] as const)
    .filter((k) => options[k])
    .map((k) => `${k} ${options[k]}`)
    .join(", ");
  return `-- @ops/adapter-postgres roles (${who}; schema ${options.schema ?? "public"}). Idempotent: run it as the database admin, before the migrations and again after each.\n${stmts.join("\n")}\n`;
}

/**
 * Runs `opsRoleSetupStatements(options)` in one transaction over `exec` (connected as the admin).
 * @throws ValidationError for a bad name; UnavailableError when the database is down; the mapped
 *   PostgreSQL error when the connecting role lacks the rights (CREATEROLE, table ownership).
 */
export async function setupOpsRoles(exec: PgExecutor, options: OpsRoleSetupOptions): Promise<void> {
  const statements = opsRoleSetupStatements(options);
  try {
    await exec.transaction(async (tx) => {
      for (const s of statements) await tx.query(s, []);
    });
  } catch (err) {
    throw mapPgError(err, "setupOpsRoles", "adapter-postgres");
  }
}

// --- the start-up probe ---------------------------------------------------------------------

/** What the connecting role can do on one @ops table. */
export interface OpsTableAccess {
  table: string;
  exists: boolean;
  owner: string | null;
  /** The connecting role owns the table (or inherits its owner's rights). */
  ownedByRole: boolean;
  rowSecurity: boolean;
  forceRowSecurity: boolean;
  /** A policy with `USING (true)` applies to the role (the service policy): it sees every row. */
  everyRow: boolean;
  /** Privileges the stores need and the role lacks. */
  missing: string[];
  /** UPDATE or DELETE the role holds on the append-only audit table. */
  excess: string[];
}

/** What `checkOpsRoles` found. `problems` empty means the stores will see what they ask for. */
export interface OpsRoleReport {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  /** `app.tenant_id` on the probed connection (null when unset). */
  tenant: string | null;
  tables: OpsTableAccess[];
  /** Each one would make the stores fail or silently return nothing. */
  problems: string[];
  /** Worth knowing, not blocking (a superuser that bypasses RLS, an owner without FORCE). */
  warnings: string[];
}

export interface OpsRoleCheckOptions {
  /** Schema of the tables (default: the connection's `search_path`). */
  schema?: string;
  /** Treat a superuser or BYPASSRLS connection as a problem (recommended in production). Default false. */
  refuseSuperuser?: boolean;
  /** Package named in messages (shims pass theirs). */
  pkg?: string;
}

/** The typed start-up error: `role` and what is missing, never empty results. Code `CONFIG`. */
export class OpsRoleError extends ConfigError {
  readonly role: string;
  readonly report: OpsRoleReport;
  constructor(message: string, report: OpsRoleReport) {
    super(
      message,
      report.problems.map((p) => ({ path: "role", message: p })),
    );
    this.role = report.role;
    this.report = report;
  }
}

const PROBE_SQL = `SELECT current_user::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass,
  NULLIF(current_setting('app.tenant_id', true), '') AS tenant,
  t.name, c.oid IS NOT NULL AS exists, pg_get_userbyid(c.relowner)::text AS owner,
  COALESCE(pg_has_role(current_user, c.relowner, 'USAGE'), false) AS owned,
  COALESCE(c.relrowsecurity, false) AS rls, COALESCE(c.relforcerowsecurity, false) AS forced,
  COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AS s, COALESCE(has_table_privilege(c.oid, 'INSERT'), false) AS i,
  COALESCE(has_table_privilege(c.oid, 'UPDATE'), false) AS u, COALESCE(has_table_privilege(c.oid, 'DELETE'), false) AS d,
  EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd IN ('*', 'r')
    AND pg_get_expr(p.polqual, p.polrelid) = 'true'
    AND (0 = ANY (p.polroles) OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid) WHERE pr.oid <> 0 AND pg_has_role(current_user, pr.oid, 'USAGE')))) AS every_row
FROM unnest(string_to_array($1::text, ',')) WITH ORDINALITY AS t(name, n)
CROSS JOIN pg_roles r
LEFT JOIN pg_class c ON c.oid = to_regclass(CASE WHEN $2::text = '' THEN quote_ident(t.name) ELSE quote_ident($2::text) || '.' || quote_ident(t.name) END)
WHERE r.rolname = current_user
ORDER BY t.n`;

const bool = (v: unknown) => v === true || v === "t" || v === "true" || v === 1;
const list = (names: string[]) => (names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`);

/**
 * Asks PostgreSQL what the connecting role can do on every @ops table: privileges, ownership,
 * row-level security, a service policy, the tenant setting, superuser. One read-only query.
 * @throws UnavailableError when the database is down; ValidationError for a bad `schema`.
 */
export async function checkOpsRoles(exec: PgExecutor, options: OpsRoleCheckOptions = {}): Promise<OpsRoleReport> {
  const pkg = options.pkg ?? "adapter-postgres";
  if (options.schema !== undefined && (typeof options.schema !== "string" || !IDENT.test(options.schema)))
    throw invalid("options.schema", "expected a PostgreSQL schema name");
  let rows: Record<string, unknown>[];
  try {
    rows = await exec.query(PROBE_SQL, [TABLES.join(","), options.schema ?? ""]);
  } catch (err) {
    throw mapPgError(err, "role check", pkg);
  }
  const first = rows[0] ?? {};
  const report: OpsRoleReport = {
    role: String(first.role ?? "(unknown)"),
    superuser: bool(first.superuser),
    bypassRls: bool(first.bypass),
    tenant: first.tenant === null || first.tenant === undefined ? null : String(first.tenant),
    tables: [],
    problems: [],
    warnings: [],
  };
  for (const r of rows) {
    const table = String(r.name);
    const needed = OPS_TABLE_PRIVILEGES[table]!;
    const held = { SELECT: bool(r.s), INSERT: bool(r.i), UPDATE: bool(r.u), DELETE: bool(r.d) };
    report.tables.push({
      table,
      exists: bool(r.exists),
      owner: r.owner === null || r.owner === undefined ? null : String(r.owner),
      ownedByRole: bool(r.owned),
      rowSecurity: bool(r.rls),
      forceRowSecurity: bool(r.forced),
      everyRow: bool(r.every_row),
      missing: bool(r.exists) ? needed.filter((p) => !held[p]) : [],
      excess:
        bool(r.exists) && table === "ops_audit_entries" && !bool(r.owned) ? (["UPDATE", "DELETE"] as const).filter((p) => held[p]) : [],
    });
  }
  const role = report.role;
  const where = options.schema ? ` in schema ${options.schema}` : "";
  const missingTables = report.tables.filter((t) => !t.exists).map((t) => t.table);
  if (missingTables.length)
    report.problems.push(
      `tables ${list(missingTables)} do not exist${where} (or role ${role} has no USAGE on their schema): apply the @ops migrations`,
    );
  const lacking = report.tables.filter((t) => t.missing.length);
  if (lacking.length)
    report.problems.push(
      `role ${role} lacks ${lacking.map((t) => `${t.missing.join(", ")} on ${t.table}`).join("; ")}: grant them (opsRoleSetupSql({ app: "${role}" }) or { service: "${role}" })`,
    );
  const bypass = report.superuser || report.bypassRls;
  if (bypass) {
    const what = report.superuser ? "a superuser" : "BYPASSRLS";
    if (options.refuseSuperuser)
      report.problems.push(
        `role ${role} is ${what}: row-level security does not apply to it and refuseSuperuser is set; connect as the app or service role`,
      );
    else
      report.warnings.push(`role ${role} is ${what}: row-level security does not apply to it (managed PostgreSQL never gives the app one)`);
  } else if (report.tenant === null) {
    const hidden = report.tables.filter((t) => t.exists && t.rowSecurity && (t.forceRowSecurity || !t.ownedByRole) && !t.everyRow);
    if (hidden.length) {
      const owns = hidden.some((t) => t.ownedByRole);
      report.problems.push(
        `role ${role} is subject to row-level security on ${list(hidden.map((t) => t.table))} and no tenant is set (app.tenant_id): every read would return nothing` +
          (owns ? ` (it owns the tables, but FORCE ROW LEVEL SECURITY applies to the owner too)` : "") +
          `. Connect these stores as the service role (opsRoleSetupSql({ service: "${role}" }) creates its policy), or build them inside withTenant(...) from @ops/tenancy`,
      );
    }
  }
  for (const t of report.tables) {
    if (!bypass && t.exists && t.rowSecurity && t.ownedByRole && !t.forceRowSecurity)
      report.warnings.push(`role ${role} owns ${t.table}, which has RLS enabled but not forced: the owner bypasses it`);
    if (t.excess.length) report.warnings.push(`role ${role} holds ${t.excess.join(", ")} on the append-only ${t.table}`);
  }
  return report;
}

/**
 * `checkOpsRoles`, throwing when the stores would fail or silently see nothing.
 * @throws OpsRoleError naming the role and every missing grant or setting; UnavailableError when
 *   the database is down.
 */
export async function assertOpsRoles(exec: PgExecutor, options: OpsRoleCheckOptions = {}): Promise<OpsRoleReport> {
  const report = await checkOpsRoles(exec, options);
  if (report.problems.length)
    throw new OpsRoleError(
      `[ops/${options.pkg ?? "adapter-postgres"}] role check failed for role ${report.role}: ${report.problems.join("; ")}`,
      report,
    );
  return report;
}
