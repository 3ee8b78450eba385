import { ValidationError } from "../errors.js";
import { INCIDENT_STATES } from "./incident-store.js";
import { ACTOR_TYPES, OUTCOMES, SEVERITIES } from "../schemas.js";
import { type StorableKind, storableJsonIssue, storableTextIssue } from "../storable.js";
import type { AuditStore, SubjectKeyStore } from "./audit-store.js";
import type { AuthEventStore } from "./auth-event-store.js";
import type { ChangeRequestStore } from "./change-request-store.js";
import type { CounterStore } from "./counter-store.js";
import type { FlagStore } from "./flag-store.js";
import type { IncidentStore } from "./incident-store.js";
import type { OutboxStore } from "./outbox-store.js";
import type { OpsStores } from "./bundle.js";

// THE accept/reject table of the store contracts: every write of every store is checked here,
// before the adapter sees it, so memory, PostgreSQL (Drizzle, Prisma) and Redis accept and refuse
// exactly the same inputs with the same `ValidationError`. Adapters install it with `guardStore`
// (each store class does so in its constructor; bundle factories too).

/** The store kinds `guardStore` knows, as named in `OpsStores`. */
export interface GuardedStores {
  flags: FlagStore;
  audit: AuditStore;
  auditKeys: SubjectKeyStore;
  incidents: IncidentStore;
  authEvents: AuthEventStore;
  outbox: OutboxStore;
  counters: CounterStore;
  changeRequests: ChangeRequestStore;
}
export type StoreKind = keyof GuardedStores;

const STORE_NAMES: Record<StoreKind, string> = {
  flags: "FlagStore",
  audit: "AuditStore",
  auditKeys: "SubjectKeyStore",
  incidents: "IncidentStore",
  authEvents: "AuthEventStore",
  outbox: "OutboxStore",
  counters: "CounterStore",
  changeRequests: "ChangeRequestStore",
};

class Refusal {
  constructor(
    readonly path: string,
    readonly message: string,
  ) {}
}
const fail = (path: string, message: string): never => {
  throw new Refusal(path, message);
};

type Obj = Record<string, unknown>;
const obj = (v: unknown, path: string): Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : fail(path, "expected an object");
const text = (v: unknown, path: string, kind: StorableKind, opts: { min?: number; max?: number } = {}): string => {
  const issue = storableTextIssue(v, path, kind, opts.min);
  if (issue) fail(issue.path, issue.message);
  if (opts.max !== undefined && (v as string).length > opts.max)
    fail(path, `expected a string of ${opts.min ?? (kind === "text" ? 0 : 1)}..${opts.max} characters`);
  return v as string;
};
const optText = (v: unknown, path: string, kind: StorableKind, opts: { min?: number; max?: number; nullable?: boolean } = {}) => {
  if (v === undefined || (opts.nullable && v === null)) return;
  text(v, path, kind, opts);
};
const json = (v: unknown, path: string, object = false): void => {
  if (object) obj(v, path);
  else if (v === undefined) fail(path, "expected a JSON value");
  const issue = storableJsonIssue(v, path);
  if (issue) fail(issue.path, issue.message);
};
const TENANT = /^[A-Za-z0-9._:-]{1,128}$/;
const tenant = (v: unknown, path: string): void => {
  if (v === null) return;
  if (typeof v !== "string" || !TENANT.test(v)) fail(path, "expected null or a tenant id (1-128 letters, digits and . _ : -)");
};
const ENV = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const env = (v: unknown, path: string): void => {
  if (typeof v !== "string" || !ENV.test(v)) fail(path, 'expected a lower-case environment slug such as "prod" (1-32 characters)');
};
const FLAG_KEY = /^[A-Za-z0-9_.:$-]{1,200}$/;
const flagKey = (v: unknown, path: string): void => {
  if (typeof v !== "string" || !FLAG_KEY.test(v)) fail(path, "expected 1-200 of letters, digits and _ . : $ -");
};
const CHANNEL = /^[A-Za-z0-9._:-]{1,128}$/;
const UPPER_SNAKE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** An ISO 8601 date-time with a date, a time and a zone; returns it in `toISOString()` form. */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const iso = (v: unknown, path: string): string => {
  const ms = typeof v === "string" && ISO.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) fail(path, "expected an ISO 8601 date-time with a zone (2026-01-02T03:04:05.678Z)");
  return new Date(ms).toISOString();
};
const optIso = (v: unknown, path: string): string | undefined => (v === undefined ? undefined : iso(v, path));
const int = (v: unknown, path: string, min: number, opts: { nullable?: boolean; optional?: boolean; max?: number } = {}): void => {
  if ((opts.nullable && v === null) || (opts.optional && v === undefined)) return;
  if (!Number.isSafeInteger(v) || (v as number) < min || (opts.max !== undefined && (v as number) > opts.max))
    fail(path, `expected ${opts.nullable ? "null or " : ""}an integer ${min}..${opts.max ?? "(safe)"}`);
};
const oneOf = (v: unknown, path: string, values: readonly string[], optional = false): void => {
  if (optional && v === undefined) return;
  if (typeof v !== "string" || !values.includes(v)) fail(path, `expected one of ${values.join(", ")}`);
};
const id = (v: unknown, path: string) => text(v, path, "id");
const name = (v: unknown, path: string) => text(v, path, "name");
/** A shallow copy with some fields replaced (normalised times); the caller's objects are never mutated. */
const withTimes = <T extends object>(o: T, times: Record<string, string | undefined>): T => {
  const out = { ...o } as Record<string, unknown>;
  for (const [k, v] of Object.entries(times)) if (v !== undefined) out[k] = v;
  return out as T;
};

type Check = (input: unknown) => unknown;

function auditRecord(r: unknown, p: string, tenantId: unknown): void {
  const o = obj(r, p);
  id(o.id, `${p}.id`);
  if (o.tenantId !== tenantId) fail(`${p}.tenantId`, "expected the tenantId of the input");
  int(o.seq, `${p}.seq`, 1);
  text(o.prevHash, `${p}.prevHash`, "name", { min: 0, max: 128 });
  text(o.hash, `${p}.hash`, "name", { max: 128 });
  if (typeof o.ts !== "string" || iso(o.ts, `${p}.ts`) !== o.ts) fail(`${p}.ts`, "expected an ISO time in toISOString() form");
  env(o.env, `${p}.env`);
  name(o.action, `${p}.action`);
  const actor = obj(o.actor, `${p}.actor`);
  id(actor.id, `${p}.actor.id`);
  oneOf(actor.type, `${p}.actor.type`, ACTOR_TYPES);
  optText(actor.ip, `${p}.actor.ip`, "name", { nullable: true, min: 0 });
  optText(actor.userAgent, `${p}.actor.userAgent`, "text", { nullable: true });
  for (const part of ["subject", "target"] as const) {
    const v = o[part];
    if (v === undefined || v === null) continue;
    const s = obj(v, `${p}.${part}`);
    id(s.id, `${p}.${part}.id`);
    optText(s.type, `${p}.${part}.type`, "name", { nullable: true, min: 0 });
    if (part === "target") optText(s.name, `${p}.target.name`, "text", { nullable: true });
  }
  oneOf(o.outcome, `${p}.outcome`, OUTCOMES);
  optText(o.reason, `${p}.reason`, "text", { nullable: true });
  for (const f of ["surface", "requestId", "correlationId"] as const) optText(o[f], `${p}.${f}`, "id", { nullable: true, min: 0 });
  json(o.meta, `${p}.meta`, true);
  if (o.sealed !== undefined && o.sealed !== null) json(o.sealed, `${p}.sealed`, true);
}

function authEvent(e: unknown, p: string): unknown {
  const o = obj(e, p);
  text(o.id, `${p}.id`, "id", { max: 200 });
  if (/[|\s]/.test(o.id as string)) fail(`${p}.id`, "expected an id without spaces or |");
  if (typeof o.type !== "string" || !UPPER_SNAKE.test(o.type))
    fail(`${p}.type`, 'expected an UPPER_SNAKE_CASE event type such as "LOGIN_FAILED"');
  const occurredAt = iso(o.occurredAt, `${p}.occurredAt`);
  tenant(o.tenantId, `${p}.tenantId`);
  optText(o.userId, `${p}.userId`, "name", { min: 0 });
  optText(o.ip, `${p}.ip`, "name", { min: 0 });
  optText(o.provider, `${p}.provider`, "name", { min: 0 });
  if (o.meta !== undefined) json(o.meta, `${p}.meta`, true);
  return occurredAt === o.occurredAt ? e : withTimes(o, { occurredAt });
}

/**
 * The accept/reject table: for each store kind, each write method's check. A check throws a
 * `ValidationError` naming the field (`record.severity`, `events[3].meta.k`) or returns the input
 * to hand to the adapter (times normalised to `toISOString()` form; never the caller's object
 * mutated). Exposed for custom adapters and tests; `guardStore` applies it.
 */
export const STORE_WRITE_CHECKS: { readonly [K in StoreKind]: Readonly<Record<string, Check>> } = {
  flags: {
    put(input) {
      const i = obj(input, "(input)");
      env(i.env, "env");
      flagKey(i.key, "key");
      tenant(i.tenantId, "tenantId");
      json(i.config, "config");
      int(i.expectedVersion, "expectedVersion", 0, { nullable: true });
      name(i.actor, "actor");
      return input;
    },
    delete(input) {
      const i = obj(input, "(input)");
      env(i.env, "env");
      flagKey(i.key, "key");
      tenant(i.tenantId, "tenantId");
      int(i.expectedVersion, "expectedVersion", 0);
      return input;
    },
  },
  audit: {
    appendMany(input) {
      const batches = obj(input, "(input)").batches;
      if (!Array.isArray(batches)) fail("batches", "expected an array of { tenantId, records }");
      const bs = batches as unknown[];
      for (let n = 0; n < bs.length; n++) {
        try {
          STORE_WRITE_CHECKS.audit.append!(bs[n]);
        } catch (err) {
          if (err instanceof Refusal) fail(`batches[${n}].${err.path}`, err.message);
          throw err;
        }
      }
      return input;
    },
    append(input) {
      const i = obj(input, "(input)");
      tenant(i.tenantId, "tenantId");
      const records = i.records;
      if (!Array.isArray(records) || records.length < 1 || records.length > 10_000) fail("records", "expected 1..10000 records");
      const rs = records as unknown[];
      for (let n = 0; n < rs.length; n++) {
        auditRecord(rs[n], `records[${n}]`, i.tenantId);
        if (n > 0 && (rs[n] as { seq: number }).seq !== (rs[n - 1] as { seq: number }).seq + 1)
          fail(`records[${n}].seq`, "expected consecutive seqs");
      }
      return input;
    },
  },
  auditKeys: {
    getOrCreate(input) {
      const c = obj(obj(input, "(input)").candidate, "candidate");
      id(c.keyId, "candidate.keyId");
      tenant(c.tenantId, "candidate.tenantId");
      id(c.subjectId, "candidate.subjectId");
      if (!(c.key instanceof Uint8Array) || c.key.length !== 32) fail("candidate.key", "expected 32 bytes");
      iso(c.createdAt, "candidate.createdAt");
      return input;
    },
  },
  incidents: {
    create(input) {
      const i = obj(input, "(input)");
      const r = obj(i.record, "record");
      text(r.id, "record.id", "id", { max: 200 });
      if (/[|\s]/.test(r.id as string)) fail("record.id", "expected an id without spaces or |");
      tenant(r.tenantId, "record.tenantId");
      id(r.fingerprint, "record.fingerprint");
      name(r.type, "record.type");
      oneOf(r.severity, "record.severity", SEVERITIES);
      oneOf(r.state, "record.state", INCIDENT_STATES);
      text(r.title, "record.title", "text");
      const openedAt = iso(r.openedAt, "record.openedAt");
      const updatedAt = iso(r.updatedAt, "record.updatedAt");
      const resolvedAt = optIso(r.resolvedAt, "record.resolvedAt");
      json(r.data, "record.data", true);
      return { ...i, record: withTimes(r, { openedAt, updatedAt, resolvedAt }) };
    },
    update(input) {
      const i = obj(input, "(input)");
      tenant(i.tenantId, "tenantId");
      id(i.id, "id");
      int(i.expectedVersion, "expectedVersion", 1);
      const p = obj(i.patch, "patch");
      oneOf(p.state, "patch.state", INCIDENT_STATES, true);
      oneOf(p.severity, "patch.severity", SEVERITIES, true);
      optText(p.title, "patch.title", "text");
      const updatedAt = optIso(p.updatedAt, "patch.updatedAt");
      const resolvedAt = optIso(p.resolvedAt, "patch.resolvedAt");
      if (p.data !== undefined) json(p.data, "patch.data", true);
      return { ...i, patch: withTimes(p, { updatedAt, resolvedAt }) };
    },
    putModel(input) {
      const i = obj(input, "(input)");
      tenant(i.tenantId, "tenantId");
      text(i.name, "name", "name", { max: 128 });
      json(i.model, "model", true);
      int(i.expectedVersion, "expectedVersion", 1, { nullable: true });
      return withTimes(i, { updatedAt: iso(i.updatedAt, "updatedAt") });
    },
  },
  authEvents: {
    append(input) {
      const i = obj(input, "(input)");
      if (!Array.isArray(i.events) || i.events.length > 10_000) fail("events", "expected an array of at most 10000 events");
      const events = i.events as unknown[];
      let out: unknown[] | undefined;
      for (let n = 0; n < events.length; n++) {
        const e = authEvent(events[n], `events[${n}]`);
        if (e !== events[n]) (out ??= [...events])[n] = e;
      }
      return out ? { ...i, events: out } : input;
    },
  },
  outbox: {
    enqueue(input) {
      const i = obj(input, "(input)");
      const m = obj(i.message, "message");
      text(m.id, "message.id", "id", { max: 200 });
      if (/[|\s]/.test(m.id as string)) fail("message.id", "expected an id without spaces or |");
      tenant(m.tenantId, "message.tenantId");
      if (typeof m.channel !== "string" || !CHANNEL.test(m.channel))
        fail("message.channel", "expected 1-128 of letters, digits and . _ : -");
      json(m.payload, "message.payload", true);
      id(m.idempotencyKey, "message.idempotencyKey");
      const createdAt = iso(m.createdAt, "message.createdAt");
      const nextAttemptAt = optIso(m.nextAttemptAt, "message.nextAttemptAt");
      return { ...i, message: withTimes(m, { createdAt, nextAttemptAt }) };
    },
    claim(input) {
      const i = obj(input, "(input)");
      id(i.workerId, "workerId");
      int(i.limit, "limit", 1, { max: 1000 });
      int(i.leaseMs, "leaseMs", 1);
      const now = iso(i.now, "now");
      if (i.channels !== undefined) {
        if (!Array.isArray(i.channels)) fail("channels", "expected an array of channel names");
        (i.channels as unknown[]).forEach((c, n) => name(c, `channels[${n}]`));
      }
      return withTimes(i, { now });
    },
    complete(input) {
      const i = obj(input, "(input)");
      id(i.id, "id");
      id(i.workerId, "workerId");
      return withTimes(i, { now: iso(i.now, "now") });
    },
    fail(input) {
      const i = obj(input, "(input)");
      id(i.id, "id");
      id(i.workerId, "workerId");
      text(i.error, "error", "text", { min: 1 }); // "" would read back as no error (null) on some stores
      const now = iso(i.now, "now");
      const retryAt = optIso(i.retryAt, "retryAt");
      oneOf(i.final, "final", ["dead", "expired", "cancelled"], true);
      return withTimes(i, { now, retryAt });
    },
    requeue(input) {
      const i = obj(input, "(input)");
      id(i.id, "id");
      return withTimes(i, { now: iso(i.now, "now") });
    },
    cancel(input) {
      const i = obj(input, "(input)");
      id(i.id, "id");
      const now = iso(i.now, "now");
      optText(i.reason, "reason", "text", { min: 1, max: 2000 });
      return withTimes(i, { now });
    },
  },
  counters: {
    incrementMany(input) {
      if (!Array.isArray(input)) fail("(input)", "expected an array of counter adds");
      const adds = input as unknown[];
      for (let n = 0; n < adds.length; n++) {
        try {
          STORE_WRITE_CHECKS.counters.increment!(adds[n]);
        } catch (err) {
          if (err instanceof Refusal) fail(`adds[${n}].${err.path}`, err.message);
          throw err;
        }
      }
      return input;
    },
    increment(input) {
      const i = obj(input, "(input)");
      tenant(i.tenantId, "tenantId");
      name(i.key, "key");
      if (typeof i.atMs !== "number" || !Number.isFinite(i.atMs)) fail("atMs", "expected a finite number of milliseconds");
      int(i.bucketMs, "bucketMs", 1);
      int(i.by, "by", 1, { optional: true });
      int(i.windowBuckets, "windowBuckets", 1, { optional: true, max: 10_000 });
      int(i.ttlMs, "ttlMs", 1, { optional: true });
      if (i.untracked !== undefined && typeof i.untracked !== "boolean") fail("untracked", "expected a boolean");
      return input;
    },
  },
  changeRequests: {
    create(input) {
      const r = obj(obj(input, "(input)").request, "request");
      text(r.id, "request.id", "id", { max: 200 });
      env(r.env, "request.env");
      flagKey(r.key, "request.key");
      tenant(r.tenantId, "request.tenantId");
      name(r.kind, "request.kind");
      if (r.config !== null) json(r.config, "request.config");
      json(r.change, "request.change");
      int(r.baseVersion, "request.baseVersion", 1, { nullable: true });
      name(r.author, "request.author");
      text(r.reason, "request.reason", "text", { min: 1 });
      return input;
    },
    update(input) {
      const i = obj(input, "(input)");
      env(i.env, "env");
      id(i.id, "id");
      int(i.expectedVersion, "expectedVersion", 0);
      const p = obj(i.patch, "patch");
      oneOf(p.status, "patch.status", ["pending", "approved", "applied", "rejected", "cancelled", "conflict"], true);
      optText(p.reviewer, "patch.reviewer", "name", { nullable: true });
      optText(p.reviewNote, "patch.reviewNote", "text", { nullable: true });
      int(p.appliedVersion, "patch.appliedVersion", 0, { nullable: true, optional: true });
      return input;
    },
  },
};

/**
 * Runs the table's check of `kind.method` on `input`.
 * @returns the input to pass on (times normalised).
 * @throws ValidationError `[ops/core] invalid <Store>.<method> input: <field>: <expected>`
 */
export function checkStoreInput(kind: StoreKind, method: string, input: unknown): unknown {
  const check = STORE_WRITE_CHECKS[kind]?.[method];
  if (!check) return input;
  try {
    return check(input);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    const what = `${STORE_NAMES[kind]}.${method} input`;
    throw new ValidationError(`[ops/core] invalid ${what}: ${err.path}: ${err.message}`, [{ path: err.path, message: err.message }]);
  }
}

const GUARDED = Symbol.for("@ops/core.guarded");

/**
 * Puts the contract's input checks in front of a store: every write method listed in
 * `STORE_WRITE_CHECKS[kind]` checks its input first and refuses a bad one with a
 * `ValidationError` naming the field, before the adapter sees it (so nothing is written). Reads
 * and other members are untouched. The checks are installed on the object itself (own
 * properties), so `instanceof`, private fields and extra methods keep working; a frozen object is
 * wrapped instead. Idempotent. Every adapter shipped here calls it in its store constructors;
 * call it on a custom adapter's stores (or `guardStores` on its bundle).
 */
export function guardStore<K extends StoreKind, S extends GuardedStores[K]>(kind: K, store: S): S {
  if (store === null || typeof store !== "object") return store;
  if ((store as unknown as Record<symbol, unknown>)[GUARDED] === kind) return store;
  const target = Object.isExtensible(store) ? store : (Object.create(store) as S);
  for (const method of Object.keys(STORE_WRITE_CHECKS[kind])) {
    const original = (store as unknown as Record<string, unknown>)[method];
    if (typeof original !== "function") continue;
    Object.defineProperty(target, method, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function guarded(this: unknown, input: unknown, ...rest: unknown[]) {
        let checked: unknown;
        try {
          checked = checkStoreInput(kind, method, input);
        } catch (err) {
          return Promise.reject(err);
        }
        return (original as (...a: unknown[]) => unknown).call(this === target ? store : this, checked, ...rest);
      },
    });
  }
  Object.defineProperty(target, GUARDED, { value: kind, configurable: true, enumerable: false });
  return target;
}

/** `guardStore` on every store of a bundle (in place; returns the bundle). */
export function guardStores<B extends OpsStores>(bundle: B): B {
  const b = bundle as unknown as Record<string, unknown>;
  for (const kind of Object.keys(STORE_NAMES) as StoreKind[]) {
    if (b[kind] && typeof b[kind] === "object") b[kind] = guardStore(kind, b[kind] as GuardedStores[typeof kind]);
  }
  return bundle;
}
