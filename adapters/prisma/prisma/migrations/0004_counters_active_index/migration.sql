-- Set-based detection (CounterStore.readActive): one aggregate per tick over the bucketed rows of a
-- range, for every tenant at once; rows are found by (bucket_ms, key, start range), not per tenant.
CREATE INDEX IF NOT EXISTS "ops_counters_active_idx" ON "ops_counters" USING btree ("bucket_ms","key","start_ms");
