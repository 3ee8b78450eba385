-- Outbox idempotency keys and auth-event ids are unique per tenant, not across the database: a
-- key or id used by one tenant no longer collides with (or reveals) another tenant's. NULL (the
-- global scope) counts as one tenant of its own (NULLS NOT DISTINCT).
DROP INDEX IF EXISTS "ops_outbox_idempotency_key_idx";
--> statement-breakpoint
ALTER TABLE "ops_outbox" ADD CONSTRAINT "ops_outbox_tenant_idempotency_key" UNIQUE NULLS NOT DISTINCT("tenant_id","idempotency_key");
--> statement-breakpoint
ALTER TABLE "ops_auth_events" DROP CONSTRAINT IF EXISTS "ops_auth_events_pkey";
--> statement-breakpoint
ALTER TABLE "ops_auth_events" ADD COLUMN "row_id" bigserial PRIMARY KEY NOT NULL;
--> statement-breakpoint
ALTER TABLE "ops_auth_events" ADD CONSTRAINT "ops_auth_events_tenant_event_key" UNIQUE NULLS NOT DISTINCT("tenant_id","id");
