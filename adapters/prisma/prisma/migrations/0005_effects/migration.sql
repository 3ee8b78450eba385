CREATE TABLE "ops_effects" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_until" timestamp (3) with time zone,
	"last_error" text
);
--> statement-breakpoint
CREATE INDEX "ops_effects_due_idx" ON "ops_effects" USING btree ("created_at","id");
--> statement-breakpoint
ALTER TABLE "ops_effects" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_effects" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_effects";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_effects" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_effects";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_effects";
