import * as z from "zod";
import {
  ConflictError,
  NotFoundError,
  TenantIdSchema,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  forgetReplacements,
  pageLimit,
  parseInput,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
  type IncidentListQuery,
  type IncidentModelRecord,
  type IncidentRecord,
  type IncidentScanQuery,
  type IncidentStore,
  type JsonObject,
  type Page,
  type StoreCapabilities,
  type TenantKey,
  guardStore,
} from "@ops/core";
import { pipelinePerSlot, type RedisClient } from "./client.js";
import { mapRedisError } from "./errors.js";
import { scopeToken, tokenToScope, type RedisKeys } from "./keys.js";
import { LuaScript, opKey } from "./script.js";

// Cross-tenant id registry, sharded by id (`{idx:inc:<n>}`): ids are unique across the store (an
// id always maps to the same shard), and `scan` merges the shards' sorted sets.
const CLAIM_ID = new LuaScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return redis.error_reply('OPS_CONFLICT incident "' .. ARGV[1] .. '" already exists')
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`);
const RELEASE_ID = new LuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`);
// Tenant slot. KEYS: record hash, fingerprint key, by-opened zset. ARGV: id, json, openedAt, state.
const CREATE = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('OPS_CONFLICT incident "' .. ARGV[1] .. '" already exists') end
if ARGV[4] ~= 'resolved' then
  if redis.call('SET', KEYS[2], ARGV[1], 'NX') == false then
    return redis.error_reply('OPS_CONFLICT an active incident with this fingerprint exists: ' .. redis.call('GET', KEYS[2]))
  end
end
redis.call('HSET', KEYS[1], 'v', 1, 'j', ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[3] .. '|' .. ARGV[1])
return 1
`,
  { idempotent: true },
);
// KEYS: record hash, fingerprint key. ARGV: id, expected version, new json, new state.
const UPDATE = new LuaScript(
  `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return redis.error_reply('OPS_NOTFOUND incident "' .. ARGV[1] .. '" not found') end
if tonumber(v) ~= tonumber(ARGV[2]) then
  return redis.error_reply('OPS_CONFLICT incident "' .. ARGV[1] .. '" is at version ' .. v .. ', expected ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'j', ARGV[3])
if ARGV[4] == 'resolved' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return tonumber(v) + 1
`,
  { idempotent: true },
);
// Erasure. KEYS: record hash. ARGV: the record JSON read, its version, the scrubbed JSON. Writes only
// when the record is still what was read (a concurrent update makes the caller read it again).
const REPLACE_IF_SAME = new LuaScript(`
if redis.call('HGET', KEYS[1], 'j') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[2]) + 1, 'j', ARGV[3])
return 1
`);
// KEYS: model hash. ARGV: expected ('' = must not exist), json, updatedAt.
const PUT_MODEL = new LuaScript(
  `
local v = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if v then return redis.error_reply('OPS_CONFLICT model already exists at version ' .. v) end
elseif not v or tonumber(v) ~= tonumber(ARGV[1]) then
  return redis.error_reply('OPS_CONFLICT model is at version ' .. (v or 'none') .. ', expected ' .. ARGV[1])
end
local nv = (tonumber(v) or 0) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'j', ARGV[2], 'u', ARGV[3])
return nv
`,
  { idempotent: true },
);

const Scope = z.object({ tenantId: TenantIdSchema.nullable() });

/**
 * IncidentStore on Redis. A tenant's incidents live under its own key prefix (one Cluster slot);
 * a record is a hash {v, j} changed only by Lua scripts (compare-and-set on `v`); a
 * `fp:<fingerprint>` key holds the one active incident per fingerprint; a sorted set orders them
 * for keyset paging. Ids are registered in a cross-tenant index so they are unique store-wide and
 * `scan` can walk every tenant.
 */
export class RedisIncidentStore implements IncidentStore {
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly capabilities: StoreCapabilities,
  ) {}

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] incident store is closed");
    guardStore("incidents", this); // the contract's input checks, one table in @ops/core
  }
  private rec(t: TenantKey, id: string) {
    return `${this.keys.scope(t)}:inc:r:${id}`;
  }
  private fp(t: TenantKey, fingerprint: string) {
    return `${this.keys.scope(t)}:inc:fp:${fingerprint}`;
  }
  private byOpened(t: TenantKey) {
    return `${this.keys.scope(t)}:inc:byopened`;
  }
  /** The id registry shard of `id`: [owners hash, ids sorted set], one slot. */
  private registry(id: string): [string, string] {
    const shard = this.keys.indexShard("inc", id);
    return [`${shard}:owners`, `${shard}:all`];
  }

  async create(input: { record: Omit<IncidentRecord, "version"> }): Promise<IncidentRecord> {
    this.assertOpen();
    // Input checked by the contract guard (@ops/core), times already in toISOString form.
    const r = { ...input.record };
    // toISOString form, as PostgreSQL returns them: `list` orders "<openedAt>|<id>" as strings,
    // where "…:00Z" would sort after "…:00.500Z".
    r.openedAt = new Date(r.openedAt).toISOString();
    r.updatedAt = new Date(r.updatedAt).toISOString();
    if (r.resolvedAt !== undefined) r.resolvedAt = new Date(r.resolvedAt).toISOString();
    const [owners, all] = this.registry(r.id);
    const token = scopeToken(r.tenantId);
    try {
      // The id registry (its shard's slot) and the record (tenant slot) cannot be one script on a
      // Cluster. A create cut between the two (connection lost) leaves the id registered to this
      // scope with no record: a retry takes it over, and CREATE's EXISTS check still lets exactly
      // one creator win.
      let takeover = false;
      try {
        await CLAIM_ID.run(this.redis, [owners, all], [r.id, token]);
      } catch (err) {
        if (!(mapRedisError(err, "") instanceof ConflictError) || (await this.redis.hget(owners, r.id)) !== token) throw err;
        takeover = true;
      }
      const record: IncidentRecord = { ...r, version: 1 };
      const rec = this.rec(r.tenantId, r.id);
      try {
        await CREATE.run(
          this.redis,
          [rec, this.fp(r.tenantId, r.fingerprint), this.byOpened(r.tenantId), opKey(`${this.keys.scope(r.tenantId)}:`)],
          [r.id, JSON.stringify(record), r.openedAt, r.state],
        );
      } catch (err) {
        // Never release an id whose record exists (another creator of it won) or that we took over.
        if (!takeover && (await this.redis.exists(rec).catch(() => 1)) === 0)
          await RELEASE_ID.run(this.redis, [owners, all], [r.id, token]).catch(() => undefined);
        throw err;
      }
      return record;
    } catch (err) {
      throw mapRedisError(err, `create incident "${r.id}"`);
    }
  }

  async get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    parseInput(Scope, input, { pkg: "adapter-redis", what: "IncidentStore.get input" });
    try {
      const j = await this.redis.hget(this.rec(input.tenantId, input.id), "j");
      return j === null ? null : (JSON.parse(j) as IncidentRecord);
    } catch (err) {
      throw mapRedisError(err, `get incident "${input.id}"`);
    }
  }

  async findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    parseInput(Scope, input, { pkg: "adapter-redis", what: "IncidentStore.findActive input" });
    try {
      const id = await this.redis.get(this.fp(input.tenantId, input.fingerprint));
      if (id === null) return null;
      const r = await this.get({ tenantId: input.tenantId, id });
      return r && r.state !== "resolved" ? r : null;
    } catch (err) {
      throw mapRedisError(err, "find active incident");
    }
  }

  async update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord> {
    this.assertOpen();
    const current = await this.get({ tenantId: input.tenantId, id: input.id });
    if (!current) throw new NotFoundError(`[ops/adapter-redis] incident "${input.id}" not found`);
    if (current.version !== input.expectedVersion)
      throw new ConflictError(
        `[ops/adapter-redis] incident "${input.id}" is at version ${current.version}, expected ${input.expectedVersion}`,
      );
    const patch = Object.fromEntries(Object.entries(input.patch).filter(([, v]) => v !== undefined));
    const next: IncidentRecord = { ...current, ...patch, version: input.expectedVersion + 1 };
    try {
      await UPDATE.run(
        this.redis,
        [this.rec(input.tenantId, input.id), this.fp(input.tenantId, current.fingerprint), opKey(`${this.keys.scope(input.tenantId)}:`)],
        [input.id, input.expectedVersion, JSON.stringify(next), next.state],
      );
      return next;
    } catch (err) {
      throw mapRedisError(err, `update incident "${input.id}"`);
    }
  }

  async list(input: IncidentListQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    parseInput(Scope, input, { pkg: "adapter-redis", what: "IncidentStore.list input" });
    const limit = pageLimit(input.limit, "adapter-redis");
    let before = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    const states = input.states ? new Set<string>(input.states) : null;
    const types = input.types ? new Set<string>(input.types) : null;
    const items: IncidentRecord[] = [];
    try {
      for (;;) {
        const batch = await this.redis.zrevrangebylex(
          this.byOpened(input.tenantId),
          before === null ? "+" : `(${before}`,
          "-",
          "LIMIT",
          0,
          Math.max(2 * limit, 64),
        );
        if (batch.length === 0) return { items, nextCursor: null };
        // One tenant's keys share a slot: one pipeline, also on a Cluster.
        const res = (await pipelinePerSlot(
          this.redis,
          batch.map((m) => this.rec(input.tenantId, m.slice(m.indexOf("|") + 1))),
          (p, k) => p.hget(k, "j"),
        )) as Array<string | null>;
        for (let i = 0; i < batch.length; i++) {
          before = batch[i]!;
          const j = res[i];
          if (!j) continue;
          const r = JSON.parse(j) as IncidentRecord;
          if ((states && !states.has(r.state)) || (types && !types.has(r.type))) continue;
          items.push(r);
          if (items.length === limit) {
            const more =
              i < batch.length - 1 ||
              (await this.redis.zrevrangebylex(this.byOpened(input.tenantId), `(${before}`, "-", "LIMIT", 0, 1)).length > 0;
            return { items, nextCursor: more ? encodeCursor([before]) : null };
          }
        }
      }
    } catch (err) {
      throw mapRedisError(err, "list incidents");
    }
  }

  async scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-redis");
    let after = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    const states = input.states ? new Set<string>(input.states) : null;
    const items: IncidentRecord[] = [];
    const shards = this.keys.indexShards("inc").map((k) => `${k}:all`);
    const batchSize = Math.max(2 * limit, 64);
    try {
      for (;;) {
        // Each shard's next ids after the cursor, merged: the first `batchSize` of the merge are
        // exactly the store's next ids, since every shard contributed its own first `batchSize`.
        const perShard = (await pipelinePerSlot(this.redis, shards, (p, k) =>
          p.zrangebylex(k, after === null ? "-" : `(${after}`, "+", "LIMIT", 0, batchSize),
        )) as string[][];
        const merged = perShard.flat().sort();
        const ids = merged.slice(0, batchSize);
        if (ids.length === 0) return { items, nextCursor: null };
        const ownerOf = (await pipelinePerSlot(
          this.redis,
          ids.map((id) => this.registry(id)[0]),
          (p, k, i) => p.hget(k, ids[i]!),
        )) as Array<string | null>;
        const recs = (await pipelinePerSlot(
          this.redis,
          ids.map((id, i) => this.rec(tokenToScope(ownerOf[i] ?? "~g"), id)),
          (p, k) => p.hget(k, "j"),
        )) as Array<string | null>;
        for (let i = 0; i < ids.length; i++) {
          after = ids[i]!;
          const j = ownerOf[i] ? recs[i] : null;
          if (!j) continue;
          const r = JSON.parse(j) as IncidentRecord;
          if (states && !states.has(r.state)) continue;
          items.push(r);
          if (items.length === limit) {
            const more = i < ids.length - 1 || merged.length > ids.length || (await this.anyIdAfter(shards, after));
            return { items, nextCursor: more ? encodeCursor([after]) : null };
          }
        }
      }
    } catch (err) {
      throw mapRedisError(err, "scan incidents");
    }
  }

  private async anyIdAfter(shards: readonly string[], after: string): Promise<boolean> {
    const next = (await pipelinePerSlot(this.redis, shards, (p, k) => p.zrangebylex(k, `(${after}`, "+", "LIMIT", 0, 1))) as string[][];
    return next.some((l) => l.length > 0);
  }

  /**
   * See `IncidentStore.forgetSubject`: the tenant's incidents (its by-opened index, in pages of
   * 200, one pipeline each), each changed one rewritten by a compare-and-set on the record; a record
   * changed meanwhile is read and scrubbed again (up to 5 times, then `ConflictError`).
   */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    parseInput(Scope.extend({ subjectId: z.string().min(1), identifiers: z.array(z.string()), pseudonym: z.string().min(1) }), input, {
      pkg: "adapter-redis",
      what: "IncidentStore.forgetSubject input",
    });
    const ids = forgetReplacements(input);
    const index = this.byOpened(input.tenantId);
    let records = 0;
    let after = "-";
    try {
      for (;;) {
        const page = await this.redis.zrangebylex(index, after, "+", "LIMIT", 0, 200);
        if (page.length === 0) break;
        after = `(${page[page.length - 1]!}`;
        const keys = page.map((m) => this.rec(input.tenantId, m.slice(m.indexOf("|") + 1)));
        const current = (await pipelinePerSlot(this.redis, keys, (p, k) => p.hmget(k, "j", "v"))) as Array<[string | null, string | null]>;
        for (let i = 0; i < keys.length; i++) {
          let [j, v] = current[i]!;
          for (let attempt = 0; j !== null && v !== null; attempt++) {
            const r = JSON.parse(j) as IncidentRecord;
            const title = scrubJson(r.title, ids);
            const data = scrubJson(r.data, ids);
            if (title === r.title && data === r.data) break;
            const next: IncidentRecord = { ...r, title, data, version: Number(v) + 1 };
            if (Number(await REPLACE_IF_SAME.run(this.redis, [keys[i]!], [j, v, JSON.stringify(next)])) === 1) {
              records++;
              break;
            }
            if (attempt === 4) throw new ConflictError(`[ops/adapter-redis] incident "${r.id}" kept changing during forgetSubject, retry`);
            [j, v] = (await this.redis.hmget(keys[i]!, "j", "v")) as [string | null, string | null];
          }
        }
        if (page.length < 200) break;
      }
      return { records };
    } catch (err) {
      throw mapRedisError(err, "forget a subject in incidents");
    }
  }

  async getModel(input: { tenantId: TenantKey; name: string }): Promise<IncidentModelRecord | null> {
    this.assertOpen();
    parseInput(Scope.extend({ name: z.string().min(1).max(128) }), input, { pkg: "adapter-redis", what: "IncidentStore.getModel input" });
    try {
      const h = await this.redis.hgetall(`${this.keys.scope(input.tenantId)}:inc:model:${input.name}`);
      if (!h.v) return null;
      return { tenantId: input.tenantId, name: input.name, model: JSON.parse(h.j!) as JsonObject, version: Number(h.v), updatedAt: h.u! };
    } catch (err) {
      throw mapRedisError(err, `get model "${input.name}"`);
    }
  }

  async putModel(input: {
    tenantId: TenantKey;
    name: string;
    model: JsonObject;
    expectedVersion: number | null;
    updatedAt: string;
  }): Promise<IncidentModelRecord> {
    this.assertOpen();
    try {
      const version = Number(
        await PUT_MODEL.run(
          this.redis,
          [`${this.keys.scope(input.tenantId)}:inc:model:${input.name}`, opKey(`${this.keys.scope(input.tenantId)}:`)],
          [input.expectedVersion === null ? "" : input.expectedVersion, JSON.stringify(input.model), input.updatedAt],
        ),
      );
      return { tenantId: input.tenantId, name: input.name, model: input.model, version, updatedAt: input.updatedAt };
    } catch (err) {
      throw mapRedisError(err, `put model "${input.name}"`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
