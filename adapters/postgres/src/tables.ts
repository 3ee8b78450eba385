import { ident, sql, type Sql } from "./sql.js";

/** The @ops table names, qualified by `schema` when given (else resolved by `search_path`). */
export interface OpsTableNames {
  schema: string | undefined;
  auditEntries: Sql;
  auditSubjectKeys: Sql;
  flags: Sql;
  flagChangeRequests: Sql;
  incidents: Sql;
  incidentModels: Sql;
  authEvents: Sql;
  counters: Sql;
  outbox: Sql;
  effects: Sql;
}

export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function opsTableNames(schema?: string): OpsTableNames {
  const q = (name: string) => sql.raw(schema === undefined ? ident(name) : `${ident(schema)}.${ident(name)}`);
  return {
    schema,
    auditEntries: q("ops_audit_entries"),
    auditSubjectKeys: q("ops_audit_subject_keys"),
    flags: q("ops_flags"),
    flagChangeRequests: q("ops_flag_change_requests"),
    incidents: q("ops_incidents"),
    incidentModels: q("ops_incident_models"),
    authEvents: q("ops_auth_events"),
    counters: q("ops_counters"),
    outbox: q("ops_outbox"),
    effects: q("ops_effects"),
  };
}
