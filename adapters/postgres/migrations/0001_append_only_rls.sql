-- Hand-written: what drizzle-kit cannot emit.
--
-- 1. The audit table is append-only. A trigger rejects UPDATE, DELETE and TRUNCATE for every
--    role (table owner included), and PUBLIC loses those privileges. Neither stops a superuser
--    or the owner dropping the trigger: this is hygiene, the hash chain is the evidence.
CREATE OR REPLACE FUNCTION ops_audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ops_audit_entries is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS ops_audit_entries_no_update_delete ON ops_audit_entries;
--> statement-breakpoint
CREATE TRIGGER ops_audit_entries_no_update_delete
  BEFORE UPDATE OR DELETE ON ops_audit_entries
  FOR EACH ROW EXECUTE FUNCTION ops_audit_entries_append_only();
--> statement-breakpoint
DROP TRIGGER IF EXISTS ops_audit_entries_no_truncate ON ops_audit_entries;
--> statement-breakpoint
CREATE TRIGGER ops_audit_entries_no_truncate
  BEFORE TRUNCATE ON ops_audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ops_audit_entries_append_only();
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON ops_audit_entries FROM PUBLIC;
--> statement-breakpoint
-- 2. At most one active (not resolved) incident per (tenant, fingerprint); also the index of
--    findActive. drizzle-kit cannot emit NULLS NOT DISTINCT on an index.
CREATE UNIQUE INDEX IF NOT EXISTS "ops_incidents_active_fingerprint_key" ON "ops_incidents" ("tenant_id", "fingerprint") NULLS NOT DISTINCT WHERE "state" <> 'resolved';
--> statement-breakpoint
-- 3. Row-level security, ENABLEd and FORCEd on every tenant-owned table, policies keyed on
--    current_setting('app.tenant_id', true). Output of
--    `rlsSql({ tables: [...OPS_RLS_TABLES, { name: "ops_incident_models" }] })` from @ops/tenancy
--    (packages/tenancy/src/rls-sql.ts), pasted. Grants for the app role and policies for service
--    roles depend on your deployment: generate them with
--    `rlsSql({ grantTo: "app", serviceRoles: ["ops_worker"] })` and apply them yourself.
ALTER TABLE "ops_audit_entries" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_audit_entries" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_audit_entries";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_audit_entries" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_audit_entries";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_audit_entries";
--> statement-breakpoint
ALTER TABLE "ops_audit_subject_keys" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_audit_subject_keys" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_audit_subject_keys";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_audit_subject_keys" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_audit_subject_keys";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_audit_subject_keys";
--> statement-breakpoint
ALTER TABLE "ops_flags" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_flags" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_flags";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_flags" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_flags";
--> statement-breakpoint
CREATE POLICY "ops_global_read" ON "ops_flags" AS PERMISSIVE FOR SELECT TO PUBLIC USING ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') IS NOT NULL);
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_flags";
--> statement-breakpoint
ALTER TABLE "ops_incidents" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_incidents" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_incidents";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_incidents" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_incidents";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_incidents";
--> statement-breakpoint
ALTER TABLE "ops_auth_events" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_auth_events" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_auth_events";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_auth_events" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_auth_events";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_auth_events";
--> statement-breakpoint
ALTER TABLE "ops_counters" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_counters" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_counters";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_counters" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_counters";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_counters";
--> statement-breakpoint
ALTER TABLE "ops_outbox" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_outbox" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_outbox";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_outbox" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_outbox";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_outbox";
--> statement-breakpoint
ALTER TABLE "ops_incident_models" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_incident_models" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_incident_models";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_incident_models" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_incident_models";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_incident_models";
