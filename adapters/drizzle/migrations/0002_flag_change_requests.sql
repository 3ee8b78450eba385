CREATE TABLE "ops_flag_change_requests" (
	"env" text COLLATE "C" NOT NULL,
	"id" text COLLATE "C" NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"tenant_id" text COLLATE "C",
	"kind" text NOT NULL,
	"config" jsonb,
	"change" jsonb NOT NULL,
	"base_version" integer,
	"author" text NOT NULL,
	"reason" text NOT NULL,
	"status" text NOT NULL,
	"reviewer" text,
	"review_note" text,
	"applied_version" integer,
	"version" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ops_flag_change_requests_pkey" PRIMARY KEY("env","id")
);
--> statement-breakpoint
CREATE INDEX "ops_flag_change_requests_status_idx" ON "ops_flag_change_requests" USING btree ("env","status","id");
--> statement-breakpoint
ALTER TABLE "ops_flag_change_requests" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "ops_flag_change_requests" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_tenant_rows" ON "ops_flag_change_requests";
--> statement-breakpoint
CREATE POLICY "ops_tenant_rows" ON "ops_flag_change_requests" AS PERMISSIVE FOR ALL TO PUBLIC USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)')) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '') OR ("tenant_id" IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') = '(global)'));
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_global_read" ON "ops_flag_change_requests";
--> statement-breakpoint
DROP POLICY IF EXISTS "ops_service_all" ON "ops_flag_change_requests";
