import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  snapshotPageLimit,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PendingEffect,
  type PageRequest,
  type TenantKey,
} from "@ops/core";
import { MemoryStoreBase, tick, type MemoryStoreOptions } from "./base.js";
import { MemoryEffectStore } from "./effect-store.js";

type Listener = (change: FlagChange) => void;

// One map per (env, tenant) scope keeps every method tenant-exact by construction.
function scopeId(env: string, tenantId: TenantKey): string {
  return tenantId === null ? `${env}\u0000g` : `${env}\u0000t\u0000${tenantId}`;
}

/**
 * In-process `FlagStore`: compare-and-set versions, keyset paging by key, and change
 * notifications to subscribers in this process (`capabilities.pubsub`, not shared).
 */
export class MemoryFlagStore extends MemoryStoreBase implements FlagStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "flags" as const;
  private readonly scopes = new Map<string, Map<string, FlagRecord>>();
  private readonly listeners = new Set<Listener>();
  /** Per env: its scopes in snapshot order (global first, then tenants in binary order); reset when a scope is created. */
  private readonly ordered = new Map<string, Array<{ tenantId: TenantKey; records: Map<string, FlagRecord> }>>();
  /** Where `effects` of writes go (atomically with the write). */
  readonly effects: MemoryEffectStore;

  constructor(options: MemoryStoreOptions = {}) {
    super(options);
    this.effects = options.effects ?? new MemoryEffectStore(options);
  }

  private scope(env: string, tenantId: TenantKey, create: boolean): Map<string, FlagRecord> | undefined {
    const id = scopeId(env, tenantId);
    let scope = this.scopes.get(id);
    if (!scope && create) {
      scope = new Map();
      this.scopes.set(id, scope);
      this.ordered.delete(env);
    }
    return scope;
  }

  async get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null> {
    this.assertOpen();
    await tick();
    const rec = this.scope(input.env, input.tenantId, false)?.get(input.key);
    return rec ? this.copy(rec) : null;
  }

  async put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
    effects?: readonly PendingEffect[];
  }): Promise<FlagRecord> {
    this.assertOpen();
    this.effects.check(input.effects);
    await tick();
    this.assertOpen();
    // Read, check and write with no await in between: one guarded write, like a row lock.
    const scope = this.scope(input.env, input.tenantId, true)!;
    const current = scope.get(input.key);
    const where = `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
    if (input.expectedVersion === null && current)
      throw new ConflictError(`[ops/adapter-memory] flag ${where} already exists (version ${current.version})`);
    if (input.expectedVersion !== null && current?.version !== input.expectedVersion)
      throw new ConflictError(
        `[ops/adapter-memory] flag ${where} is at version ${current?.version ?? "(absent)"}, expected ${input.expectedVersion}`,
      );
    const rec: FlagRecord = {
      env: input.env,
      key: input.key,
      tenantId: input.tenantId,
      config: this.copy(input.config),
      version: (current?.version ?? 0) + 1,
      updatedAt: this.clock.date().toISOString(),
      updatedBy: input.actor,
    };
    scope.set(input.key, rec);
    this.effects.addNow(input.effects);
    this.emit({ env: rec.env, key: rec.key, tenantId: rec.tenantId, version: rec.version });
    return this.copy(rec);
  }

  async delete(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
  }): Promise<void> {
    this.assertOpen();
    this.effects.check(input.effects);
    await tick();
    this.assertOpen();
    const scope = this.scope(input.env, input.tenantId, false);
    const current = scope?.get(input.key);
    const where = `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
    if (!scope || !current) throw new NotFoundError(`[ops/adapter-memory] flag ${where} does not exist`);
    if (current.version !== input.expectedVersion)
      throw new ConflictError(`[ops/adapter-memory] flag ${where} is at version ${current.version}, expected ${input.expectedVersion}`);
    scope.delete(input.key);
    this.effects.addNow(input.effects);
    this.emit({ env: input.env, key: input.key, tenantId: input.tenantId, version: 0 });
  }

  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? (decodeCursor(input.cursor, 1, "adapter-memory")[0] as string) : null;
    await tick();
    const scope = this.scope(input.env, input.tenantId, false);
    // Binary (code unit) order, the same as PostgreSQL COLLATE "C" for the allowed key charset.
    const keys = [...(scope?.keys() ?? [])].filter((k) => after === null || k > after).sort(binaryCompare);
    const page = keys.slice(0, limit).map((k) => this.copy(scope!.get(k)!));
    const last = page[page.length - 1];
    return { items: page, nextCursor: keys.length > limit && last ? encodeCursor([last.key]) : null };
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    this.assertOpen();
    await tick();
    const out: FlagRecord[] = [];
    const prefix = `${input.env}\u0000`;
    for (const [id, scope] of this.scopes) {
      if (!id.startsWith(prefix)) continue;
      for (const rec of scope.values()) out.push(this.copy(rec));
    }
    return out;
  }

  async snapshotPage(input: { env: string } & PageRequest): Promise<Page<FlagRecord>> {
    this.assertOpen();
    const limit = snapshotPageLimit(input.limit, "adapter-memory");
    const at = input.cursor ? decodeCursor(input.cursor, 2, "adapter-memory") : null;
    await tick();
    const scopes = this.orderedScopes(input.env);
    const afterTenant = at === null ? undefined : (at[0] as TenantKey);
    const afterKey = at === null ? null : String(at[1]);
    // First scope at or past the cursor's: the global scope sorts before every tenant.
    let lo = 0;
    if (afterTenant !== undefined) {
      let hi = scopes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (scopeBefore(scopes[mid]!.tenantId, afterTenant)) lo = mid + 1;
        else hi = mid;
      }
    }
    const items: FlagRecord[] = [];
    let last: FlagRecord | undefined;
    for (let i = lo; i < scopes.length; i++) {
      const s = scopes[i]!;
      const sameScope = afterTenant !== undefined && s.tenantId === afterTenant;
      const keys = [...s.records.keys()].filter((k) => !sameScope || k > afterKey!).sort(binaryCompare);
      for (const k of keys) {
        if (items.length === limit) return { items, nextCursor: encodeCursor([last!.tenantId, last!.key]) };
        last = this.copy(s.records.get(k)!);
        items.push(last);
      }
    }
    return { items, nextCursor: null };
  }

  private orderedScopes(env: string): Array<{ tenantId: TenantKey; records: Map<string, FlagRecord> }> {
    let out = this.ordered.get(env);
    if (out) return out;
    out = [];
    const prefix = `${env}\u0000`;
    for (const [id, records] of this.scopes) {
      if (!id.startsWith(prefix)) continue;
      const rest = id.slice(prefix.length);
      out.push({ tenantId: rest === "g" ? null : rest.slice(2), records });
    }
    out.sort((a, b) => (scopeBefore(a.tenantId, b.tenantId) ? -1 : scopeBefore(b.tenantId, a.tenantId) ? 1 : 0));
    this.ordered.set(env, out);
    return out;
  }

  /** What is really held at `(env, key, tenantId)`, bypassing locking and paging (a test backdoor). */
  peek(input: { env: string; key: string; tenantId: TenantKey }): FlagRecord | null {
    const rec = this.scope(input.env, input.tenantId, false)?.get(input.key);
    return rec ? this.copy(rec) : null;
  }

  subscribe(listener: Listener): () => void {
    this.assertOpen();
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry: Listener = (c) => listener(c);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  override async close(): Promise<void> {
    this.listeners.clear();
    await super.close();
  }

  private emit(change: FlagChange): void {
    for (const l of [...this.listeners]) {
      // Delivered after the write committed, outside the caller's stack, like a pub/sub message.
      queueMicrotask(() => {
        try {
          l({ ...change });
        } catch {
          // A throwing listener must not stop delivery to the others.
        }
      });
    }
  }
}

function binaryCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Snapshot order of scopes: the global scope first, then tenants in binary order. */
function scopeBefore(a: TenantKey, b: TenantKey): boolean {
  if (a === null) return b !== null;
  return b !== null && a < b;
}
