CREATE INDEX IF NOT EXISTS "ops_audit_entries_ts_seq_idx" ON "ops_audit_entries" USING btree ("tenant_id","ts","seq");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ops_audit_entries_action_ts_idx" ON "ops_audit_entries" USING btree ("tenant_id","action","ts","seq");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ops_audit_entries_actor_ts_idx" ON "ops_audit_entries" USING btree ("tenant_id","actor_id","ts","seq");
--> statement-breakpoint
DROP INDEX IF EXISTS "ops_audit_entries_ts_idx";
