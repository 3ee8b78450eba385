CREATE TABLE "ops_audit_entries" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"seq" bigint NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"ts" timestamp (3) with time zone NOT NULL,
	"env" text NOT NULL,
	"action" text NOT NULL,
	"actor_id" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_ip" text,
	"actor_user_agent" text,
	"subject_id" text,
	"subject_type" text,
	"target_id" text,
	"target_type" text,
	"target_name" text,
	"outcome" text NOT NULL,
	"reason" text,
	"surface" text,
	"request_id" text,
	"correlation_id" text,
	"meta" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sealed" jsonb,
	CONSTRAINT "ops_audit_entries_chain_seq_key" UNIQUE NULLS NOT DISTINCT("tenant_id","seq")
);
--> statement-breakpoint
CREATE TABLE "ops_audit_subject_keys" (
	"key_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"subject_id" text COLLATE "C" NOT NULL,
	"key" "bytea" NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ops_audit_subject_keys_subject_key" UNIQUE NULLS NOT DISTINCT("tenant_id","subject_id")
);
--> statement-breakpoint
CREATE TABLE "ops_auth_events" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"type" text COLLATE "C" NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"tenant_id" text COLLATE "C",
	"user_id" text,
	"ip" text,
	"provider" text,
	"meta" jsonb
);
--> statement-breakpoint
CREATE TABLE "ops_counters" (
	"row_id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"key" text COLLATE "C" NOT NULL,
	"bucket_ms" bigint NOT NULL,
	"start_ms" bigint NOT NULL,
	"count" bigint NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ops_counters_bucket_key" UNIQUE NULLS NOT DISTINCT("tenant_id","key","bucket_ms","start_ms")
);
--> statement-breakpoint
CREATE TABLE "ops_flags" (
	"row_id" bigserial PRIMARY KEY NOT NULL,
	"env" text COLLATE "C" NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"tenant_id" text COLLATE "C",
	"config" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"updated_by" text NOT NULL,
	CONSTRAINT "ops_flags_env_tenant_key_key" UNIQUE NULLS NOT DISTINCT("env","tenant_id","key")
);
--> statement-breakpoint
CREATE TABLE "ops_incident_models" (
	"row_id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"name" text COLLATE "C" NOT NULL,
	"model" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ops_incident_models_tenant_name_key" UNIQUE NULLS NOT DISTINCT("tenant_id","name")
);
--> statement-breakpoint
CREATE TABLE "ops_incidents" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"fingerprint" text COLLATE "C" NOT NULL,
	"type" text COLLATE "C" NOT NULL,
	"severity" text NOT NULL,
	"state" text NOT NULL,
	"title" text NOT NULL,
	"opened_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"resolved_at" timestamp (3) with time zone,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ops_outbox" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"tenant_id" text COLLATE "C",
	"channel" text COLLATE "C" NOT NULL,
	"payload" jsonb NOT NULL,
	"idempotency_key" text COLLATE "C" NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"next_attempt_at" timestamp (3) with time zone NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp (3) with time zone,
	"last_error" text,
	"delivered_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ops_audit_entries_actor_idx" ON "ops_audit_entries" USING btree ("tenant_id","actor_id","seq");--> statement-breakpoint
CREATE INDEX "ops_audit_entries_subject_idx" ON "ops_audit_entries" USING btree ("tenant_id","subject_id","seq");--> statement-breakpoint
CREATE INDEX "ops_audit_entries_target_idx" ON "ops_audit_entries" USING btree ("tenant_id","target_id","seq");--> statement-breakpoint
CREATE INDEX "ops_audit_entries_action_idx" ON "ops_audit_entries" USING btree ("tenant_id","action","seq");--> statement-breakpoint
CREATE INDEX "ops_audit_entries_correlation_idx" ON "ops_audit_entries" USING btree ("tenant_id","correlation_id","seq");--> statement-breakpoint
CREATE INDEX "ops_audit_entries_ts_idx" ON "ops_audit_entries" USING btree ("tenant_id","ts");--> statement-breakpoint
CREATE INDEX "ops_auth_events_tenant_time_idx" ON "ops_auth_events" USING btree ("tenant_id","occurred_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ops_auth_events_tenant_type_idx" ON "ops_auth_events" USING btree ("tenant_id","type","occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ops_auth_events_tenant_user_idx" ON "ops_auth_events" USING btree ("tenant_id","user_id","occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ops_auth_events_tenant_ip_idx" ON "ops_auth_events" USING btree ("tenant_id","ip","occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ops_auth_events_occurred_at_idx" ON "ops_auth_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "ops_counters_expires_at_idx" ON "ops_counters" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ops_incidents_list_idx" ON "ops_incidents" USING btree ("tenant_id","opened_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "ops_outbox_idempotency_key_idx" ON "ops_outbox" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "ops_outbox_due_idx" ON "ops_outbox" USING btree ("next_attempt_at","id") WHERE "ops_outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "ops_outbox_status_idx" ON "ops_outbox" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "ops_outbox_tenant_status_idx" ON "ops_outbox" USING btree ("tenant_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "ops_outbox_channel_status_idx" ON "ops_outbox" USING btree ("channel","status","created_at","id");--> statement-breakpoint
CREATE INDEX "ops_outbox_created_idx" ON "ops_outbox" USING btree ("created_at","id");