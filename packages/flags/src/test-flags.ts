import { ConflictError, NotFoundError, type FlagChange, type FlagRecord, type FlagStore, type JsonValue } from "@ops/core";
import { FeatureFlagController } from "./controller.js";
import type { FeatureFlagControllerOptions } from "./options.js";
import type { FlagDefinitions } from "./define-flags.js";

// A minimal in-process store so the helper needs no adapter package.
class TestStore implements FlagStore {
  readonly capabilities = { transactions: false, pubsub: true, ttl: false, atomicCounters: false, durable: false, shared: false };
  private readonly records = new Map<string, FlagRecord>();
  private readonly listeners = new Set<(c: FlagChange) => void>();
  private id(env: string, key: string, tenantId: string | null): string {
    return JSON.stringify([env, key, tenantId]);
  }
  async get(i: { env: string; key: string; tenantId: string | null }): Promise<FlagRecord | null> {
    const r = this.records.get(this.id(i.env, i.key, i.tenantId));
    return r ? structuredClone(r) : null;
  }
  async put(i: {
    env: string;
    key: string;
    tenantId: string | null;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord> {
    const id = this.id(i.env, i.key, i.tenantId);
    const cur = this.records.get(id);
    if ((cur?.version ?? null) !== i.expectedVersion) throw new ConflictError(`[ops/flags] test store: version conflict on ${i.key}`);
    const rec: FlagRecord = {
      env: i.env,
      key: i.key,
      tenantId: i.tenantId,
      config: structuredClone(i.config),
      version: (cur?.version ?? 0) + 1,
      updatedAt: new Date().toISOString(),
      updatedBy: i.actor,
    };
    this.records.set(id, rec);
    for (const l of this.listeners) l({ env: i.env, key: i.key, tenantId: i.tenantId, version: rec.version });
    return structuredClone(rec);
  }
  async delete(i: { env: string; key: string; tenantId: string | null; expectedVersion: number }): Promise<void> {
    const id = this.id(i.env, i.key, i.tenantId);
    const cur = this.records.get(id);
    if (!cur) throw new NotFoundError(`[ops/flags] test store: ${i.key} not found`);
    if (cur.version !== i.expectedVersion) throw new ConflictError(`[ops/flags] test store: version conflict on ${i.key}`);
    this.records.delete(id);
    for (const l of this.listeners) l({ env: i.env, key: i.key, tenantId: i.tenantId, version: 0 });
  }
  async list(i: { env: string; tenantId: string | null }): Promise<{ items: FlagRecord[]; nextCursor: null }> {
    const items = [...this.records.values()].filter((r) => r.env === i.env && r.tenantId === i.tenantId);
    return { items: items.sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => structuredClone(r)), nextCursor: null };
  }
  async snapshot(i: { env: string }): Promise<FlagRecord[]> {
    return [...this.records.values()].filter((r) => r.env === i.env).map((r) => structuredClone(r));
  }
  subscribe(l: (c: FlagChange) => void): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  async close(): Promise<void> {}
}

/** A controller for tests, with `set` to flip a value (optionally per tenant). */
export interface TestFlags<D extends FlagDefinitions = FlagDefinitions> extends FeatureFlagController<D> {
  set(key: string, value: JsonValue, tenantId?: string): Promise<void>;
}

/**
 * Flags for app tests, no store or adapter needed: `createTestFlags({ new_checkout_flow: true })`.
 * Values are served at once (synchronously); the full controller API (rules, rollouts,
 * overrides) works against an in-process store.
 */
export function createTestFlags<D extends FlagDefinitions = FlagDefinitions>(
  values: Record<string, JsonValue> = {},
  options: Omit<FeatureFlagControllerOptions<D>, "bootstrap" | "pollIntervalMs"> = {},
): TestFlags<D> {
  const controller = new FeatureFlagController<D>(new TestStore(), "test", {
    ...options,
    bootstrap: values,
    pollIntervalMs: 0,
  }) as TestFlags<D>;
  controller.set = async (key, value, tenantId) => {
    await controller.ready();
    await controller.setFlag({ key, newValue: value, actorUserId: "test", reason: "test", tenantId: tenantId ?? null });
  };
  return controller;
}
