import fc from "fast-check";
import { expect } from "vitest";
import {
  type AuditRecord,
  type AuditStore,
  type AuthEventStore,
  type ChangeRequestStore,
  checkStoreInput,
  type CounterStore,
  type FlagStore,
  type IncidentStore,
  type OpsStores,
  type OutboxStore,
  type StoreKind,
  ValidationError,
} from "@ops/core";
import { randomKey, randomTenant, registerCases, withStore, type ConformanceCase, type ConformanceOptions } from "./conformance.js";
import { sampleIncident } from "./incidents.js";
import { sampleAuthEvent } from "./auth-events.js";

// The contract guard, seen from outside: every rejected input of the accept/reject table of
// @ops/core (`STORE_WRITE_CHECKS`) refused with the same ValidationError on every adapter and
// nothing written; and hostile text (NUL, lone surrogates, 4-byte emoji, right-to-left text,
// 100 KB and empty strings, property-based strings) either refused exactly as the core table says
// or stored and read back byte-identical.

type Input = Record<string, unknown>;
type AnyStore = Record<string, unknown>;

/** One write method: how to make a valid input, what "unchanged" means, how to read back. */
interface MethodSpec {
  /** A valid input for tenant `t` (may write set-up state first, e.g. the incident to update). */
  prepare(store: AnyStore, t: string): Promise<Input>;
  /** What the write would change, read through the store (compared before/after a refusal). */
  snapshot(store: AnyStore, valid: Input, t: string): Promise<unknown>;
  /** The stored record after an accepted write of `input`. */
  read(store: AnyStore, input: Input, t: string): Promise<unknown>;
  /** Text fields: input path -> path in what `read` returns. */
  text: Record<string, string>;
  /** JSON fields: input path -> path in what `read` returns (hostile keys and string values go in). */
  json: Record<string, string>;
  /** Rejected inputs of the table: [input path, bad value]; the error names the path. */
  rejected: Array<[string, unknown]>;
}

const ENV = "test";
const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const NUL = "a\u0000b";
const LONE_HIGH = "a\ud800b";
const LONE_LOW = "a\udc00b";

/** Hostile strings every text field is tried with. */
export const HOSTILE_STRINGS: Readonly<Record<string, string>> = Object.freeze({
  nul: NUL,
  "lone high surrogate": LONE_HIGH,
  "lone low surrogate": LONE_LOW,
  "4-byte emoji": "😀🚀👩‍💻",
  "right-to-left": "\u202eשלום مرحبا\u202c",
  "100 KB": "x".repeat(100 * 1024),
  empty: "",
});

/**
 * Property-based strings: any UTF-16 code unit (NUL and lone surrogates included), any astral code
 * point, and a few troublemakers, up to 32 units. (Built from code units: fast-check's "binary"
 * unit spends seconds building its table on first use.)
 */
export const HOSTILE_STRING: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
      fc.constantFrom("\u0000", "\ud800", "\udc00", "\u202e", "😀", "|", " ", "\n", "\\", '"'),
    ),
    { maxLength: 32 },
  )
  .map((a) => a.join(""));

const clone = <T>(v: T): T => structuredClone(v);
const parts = (path: string): (string | number)[] =>
  [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
function setPath(obj: Input, path: string, value: unknown): Input {
  const out = clone(obj);
  const ps = parts(path);
  let at = out as Record<string | number, unknown>;
  for (const p of ps.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  at[ps.at(-1)!] = value;
  return out;
}
function getPath(obj: unknown, path: string): unknown {
  let at = obj as Record<string | number, unknown> | undefined;
  for (const p of parts(path)) at = at?.[p] as Record<string | number, unknown> | undefined;
  return at;
}
const call = (store: AnyStore, method: string, input: Input): Promise<unknown> =>
  (store[method] as (i: Input) => Promise<unknown>).call(store, input);
/** A read that refuses an address the write would have refused too counts as "nothing there". */
const orNull = async <T>(p: () => Promise<T>): Promise<T | null> => {
  try {
    return await p();
  } catch (err) {
    if (err instanceof ValidationError) return null;
    throw err;
  }
};
const predicted = (kind: StoreKind, method: string, input: Input): ValidationError | null => {
  try {
    checkStoreInput(kind, method, input);
    return null;
  } catch (err) {
    return err as ValidationError;
  }
};

const LONG = "n".repeat(300);
const SPECS: { readonly [K in StoreKind]?: Record<string, MethodSpec> } = {
  flags: {
    put: {
      prepare: async () => ({
        env: ENV,
        key: randomKey("hv"),
        tenantId: randomTenant(),
        config: { v: 1 },
        expectedVersion: null,
        actor: "alice",
      }),
      snapshot: (s, v) => orNull(() => (s as unknown as FlagStore).get(v as never)),
      read: (s, i) => (s as unknown as FlagStore).get(i as never),
      text: { actor: "updatedBy" },
      json: { config: "config" },
      rejected: [
        ["env", "Not An Env"],
        ["key", "bad key!"],
        ["tenantId", "bad tenant id"],
        ["config", undefined],
        ["config.v", NUL],
        ["expectedVersion", -1],
        ["actor", ""],
        ["actor", LONE_HIGH],
        ["actor", LONG],
      ],
    },
    delete: {
      prepare: async (s, t) => {
        const key = randomKey("hv");
        await (s as unknown as FlagStore).put({ env: ENV, key, tenantId: t, config: true, expectedVersion: null, actor: "alice" });
        return { env: ENV, key, tenantId: t, expectedVersion: 1 };
      },
      snapshot: (s, v) => orNull(() => (s as unknown as FlagStore).get(v as never)),
      read: async () => null,
      text: {},
      json: {},
      rejected: [
        ["expectedVersion", "1"],
        ["env", ""],
      ],
    },
  },
  incidents: {
    create: {
      prepare: async (_s, t) => ({ record: sampleIncident(t) }),
      snapshot: (s, v, t) => orNull(() => (s as unknown as IncidentStore).get({ tenantId: t, id: (v.record as { id: string }).id })),
      read: (s, i, t) => (s as unknown as IncidentStore).get({ tenantId: t, id: (i.record as { id: string }).id }),
      text: { "record.title": "title", "record.type": "type", "record.fingerprint": "fingerprint", "record.id": "id" },
      json: { "record.data": "data" },
      rejected: [
        ["record.severity", "bogus"],
        ["record.state", "closed"],
        ["record.openedAt", "yesterday"],
        ["record.updatedAt", "2026-13-45"],
        ["record.resolvedAt", "soon"],
        ["record.id", "a|b"],
        ["record.id", ""],
        ["record.tenantId", "bad tenant id"],
        ["record.fingerprint", NUL],
        ["record.type", LONG],
        ["record.title", LONE_LOW],
        ["record.data", []],
        ["record.data.k", NUL],
      ],
    },
    update: {
      prepare: async (s, t) => {
        const rec = sampleIncident(t);
        await (s as unknown as IncidentStore).create({ record: rec });
        return { tenantId: t, id: rec.id, expectedVersion: 1, patch: { title: "updated", updatedAt: new Date(T0).toISOString() } };
      },
      snapshot: (s, v, t) => (s as unknown as IncidentStore).get({ tenantId: t, id: v.id as string }),
      read: (s, i, t) => (s as unknown as IncidentStore).get({ tenantId: t, id: i.id as string }),
      text: { "patch.title": "title" },
      json: { "patch.data": "data" },
      rejected: [
        ["patch.severity", "bogus"],
        ["patch.state", "closed"],
        ["patch.updatedAt", "yesterday"],
        ["patch.title", NUL],
        ["patch.data", "x"],
        ["expectedVersion", 0],
      ],
    },
    putModel: {
      prepare: async (_s, t) => ({
        tenantId: t,
        name: "triage",
        model: { w: 1 },
        expectedVersion: null,
        updatedAt: new Date(T0).toISOString(),
      }),
      snapshot: (s, v, t) => orNull(() => (s as unknown as IncidentStore).getModel({ tenantId: t, name: v.name as string })),
      read: (s, i, t) => (s as unknown as IncidentStore).getModel({ tenantId: t, name: i.name as string }),
      text: { name: "name" },
      json: { model: "model" },
      rejected: [
        ["name", ""],
        ["name", "m".repeat(129)],
        ["model.k", LONE_HIGH],
        ["updatedAt", "now"],
      ],
    },
  },
  authEvents: {
    append: {
      prepare: async (_s, t) => ({ events: [sampleAuthEvent(t)] }),
      snapshot: async (s, _v, t) => (await (s as unknown as AuthEventStore).list({ tenantId: t })).items,
      read: async (s, i, t) => {
        const id = (i.events as Array<{ id: string }>)[0]!.id;
        return (await (s as unknown as AuthEventStore).list({ tenantId: t, limit: 100 })).items.find((e) => e.id === id) ?? null;
      },
      text: { "events[0].userId": "userId", "events[0].ip": "ip", "events[0].provider": "provider", "events[0].id": "id" },
      json: { "events[0].meta": "meta" },
      rejected: [
        ["events[0].userId", NUL],
        ["events[0].ip", LONE_HIGH],
        ["events[0].provider", LONG],
        ["events[0].meta.k", NUL],
        ["events[0].type", "login failed"],
        ["events[0].occurredAt", "yesterday"],
        ["events[0].tenantId", ""],
        ["events[0].id", "a b"],
      ],
    },
  },
  outbox: {
    enqueue: {
      prepare: async (_s, t) => {
        const id = randomKey("msg");
        return {
          message: {
            id,
            tenantId: t,
            channel: randomKey("ch"),
            payload: { text: "hi" },
            idempotencyKey: `idem-${id}`,
            createdAt: new Date(T0).toISOString(),
          },
        };
      },
      snapshot: (s, v) => orNull(() => (s as unknown as OutboxStore).get({ id: (v.message as { id: string }).id })),
      read: (s, i) => (s as unknown as OutboxStore).get({ id: (i.message as { id: string }).id }),
      text: { "message.id": "id", "message.idempotencyKey": "idempotencyKey", "message.channel": "channel" },
      json: { "message.payload": "payload" },
      rejected: [
        ["message.id", ""],
        ["message.id", "a|b"],
        ["message.channel", "bad channel"],
        ["message.idempotencyKey", NUL],
        ["message.payload", "text"],
        ["message.payload.k", LONE_LOW],
        ["message.createdAt", "yesterday"],
        ["message.nextAttemptAt", "later"],
      ],
    },
    fail: {
      prepare: async (s, t) => {
        const o = s as unknown as OutboxStore;
        const id = randomKey("msg");
        const channel = randomKey("ch");
        const now = new Date(T0).toISOString();
        await o.enqueue({ message: { id, tenantId: t, channel, payload: {}, idempotencyKey: `idem-${id}`, createdAt: now } });
        await o.claim({ workerId: "w1", limit: 1, leaseMs: 60_000, now, channels: [channel] });
        return { id, workerId: "w1", error: "boom", now };
      },
      snapshot: (s, v) => (s as unknown as OutboxStore).get({ id: v.id as string }),
      read: (s, i) => (s as unknown as OutboxStore).get({ id: i.id as string }),
      text: { error: "lastError" },
      json: {},
      rejected: [
        ["error", NUL],
        ["now", "now"],
        ["final", "gone"],
      ],
    },
    cancel: {
      prepare: async (s, t) => {
        const id = randomKey("msg");
        const now = new Date(T0).toISOString();
        await (s as unknown as OutboxStore).enqueue({
          message: { id, tenantId: t, channel: randomKey("ch"), payload: {}, idempotencyKey: `idem-${id}`, createdAt: now },
        });
        return { id, now, reason: "stop" };
      },
      snapshot: (s, v) => (s as unknown as OutboxStore).get({ id: v.id as string }),
      read: (s, i) => (s as unknown as OutboxStore).get({ id: i.id as string }),
      text: { reason: "lastError" },
      json: {},
      rejected: [
        ["reason", ""],
        ["reason", LONE_HIGH],
      ],
    },
  },
  counters: {
    increment: {
      prepare: async (_s, t) => ({ tenantId: t, key: randomKey("ctr"), atMs: T0, bucketMs: 60_000 }),
      snapshot: (s, v, t) =>
        orNull(() =>
          (s as unknown as CounterStore).sum({
            tenantId: t,
            key: v.key as string,
            bucketMs: 60_000,
            fromMs: T0 - 60_000,
            toMs: T0 + 60_000,
          }),
        ),
      read: async (s, i, t) => {
        const n = await (s as unknown as CounterStore).sum({
          tenantId: t,
          key: i.key as string,
          bucketMs: 60_000,
          fromMs: T0 - 60_000,
          toMs: T0 + 60_000,
        });
        return { key: n === 1 ? i.key : `(sum ${n})` };
      },
      text: { key: "key" },
      json: {},
      rejected: [
        ["key", ""],
        ["key", NUL],
        ["bucketMs", 0],
        ["by", 1.5],
        ["atMs", Number.NaN],
        ["tenantId", "bad tenant id"],
      ],
    },
  },
  changeRequests: {
    create: {
      prepare: async (_s, t) => ({
        request: {
          id: randomKey("cr"),
          env: ENV,
          key: "checkout",
          tenantId: t,
          kind: "update",
          config: { value: true },
          change: { kind: "update" },
          baseVersion: null,
          author: "alice",
          reason: "launch",
        },
      }),
      snapshot: (s, v) => orNull(() => (s as unknown as ChangeRequestStore).get({ env: ENV, id: (v.request as { id: string }).id })),
      read: (s, i) => (s as unknown as ChangeRequestStore).get({ env: ENV, id: (i.request as { id: string }).id }),
      text: { "request.author": "author", "request.reason": "reason", "request.kind": "kind", "request.id": "id" },
      json: { "request.change": "change" },
      rejected: [
        ["request.reason", ""],
        ["request.reason", NUL],
        ["request.author", LONE_LOW],
        ["request.key", "bad key!"],
        ["request.change.k", NUL],
        ["request.baseVersion", 0],
      ],
    },
    update: {
      prepare: async (s, t) => {
        const id = randomKey("cr");
        await (s as unknown as ChangeRequestStore).create({
          request: {
            id,
            env: ENV,
            key: "checkout",
            tenantId: t,
            kind: "update",
            config: null,
            change: {},
            baseVersion: null,
            author: "a",
            reason: "r",
          },
        });
        return { env: ENV, id, expectedVersion: 1, patch: { status: "rejected", reviewer: "bob", reviewNote: "no" } };
      },
      snapshot: (s, v) => (s as unknown as ChangeRequestStore).get({ env: ENV, id: v.id as string }),
      read: (s, i) => (s as unknown as ChangeRequestStore).get({ env: ENV, id: i.id as string }),
      text: { "patch.reviewer": "reviewer", "patch.reviewNote": "reviewNote" },
      json: {},
      rejected: [
        ["patch.status", "done"],
        ["patch.reviewNote", NUL],
      ],
    },
  },
  audit: {
    append: {
      prepare: async (s, t) => {
        const head = await (s as unknown as AuditStore).head({ tenantId: t });
        const seq = (head?.seq ?? 0) + 1;
        const record: AuditRecord = {
          id: randomKey("aud"),
          tenantId: t,
          seq,
          prevHash: head?.hash ?? "",
          hash: seq.toString(16).padStart(64, "0"),
          ts: new Date(T0 + seq).toISOString(),
          env: ENV,
          action: "DATA_ACCESS",
          actor: { id: "alice", type: "user", userAgent: "ua" },
          target: { id: "doc-1", type: "document", name: "Q1" },
          outcome: "success",
          reason: "because",
          meta: { k: "v" },
        };
        return { tenantId: t, records: [record] };
      },
      snapshot: (s, _v, t) => (s as unknown as AuditStore).head({ tenantId: t }),
      read: async (s, i, t) => {
        const seq = (i.records as AuditRecord[])[0]!.seq;
        return (await (s as unknown as AuditStore).range({ tenantId: t, fromSeq: seq, toSeq: seq }))[0] ?? null;
      },
      text: {
        "records[0].reason": "reason",
        "records[0].actor.id": "actor.id",
        "records[0].actor.userAgent": "actor.userAgent",
        "records[0].target.name": "target.name",
        "records[0].action": "action",
      },
      json: { "records[0].meta": "meta" },
      rejected: [
        ["records[0].reason", NUL],
        ["records[0].actor.id", LONE_HIGH],
        ["records[0].actor.type", "robot"],
        ["records[0].outcome", "maybe"],
        ["records[0].ts", "yesterday"],
        ["records[0].meta.k", NUL],
        ["records[0].tenantId", "someone-else"],
        ["records", []],
      ],
    },
  },
};

const STORE_NAME: Record<StoreKind, string> = {
  flags: "FlagStore",
  audit: "AuditStore",
  auditKeys: "SubjectKeyStore",
  incidents: "IncidentStore",
  authEvents: "AuthEventStore",
  outbox: "OutboxStore",
  counters: "CounterStore",
  changeRequests: "ChangeRequestStore",
};

async function expectRefused(kind: StoreKind, method: string, store: AnyStore, spec: MethodSpec, valid: Input, bad: Input, t: string) {
  const want = predicted(kind, method, bad);
  expect(want, `the core table refuses ${JSON.stringify(bad).slice(0, 200)}`).toBeInstanceOf(ValidationError);
  const before = await spec.snapshot(store, valid, t);
  const err = await call(store, method, bad).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `${STORE_NAME[kind]}.${method} refuses it`).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).message).toBe(want!.message);
  expect((err as ValidationError).issues).toEqual(want!.issues);
  expect(await spec.snapshot(store, valid, t), "nothing changed").toEqual(before);
}

/** One case per rejected input of the core table: refused with the core's error, nothing written. */
export function rejectedInputCases<S extends object>(kind: StoreKind, opts: ConformanceOptions<S, unknown>): ConformanceCase[] {
  const specs = SPECS[kind] ?? {};
  return Object.entries(specs).flatMap(([method, spec]) =>
    spec.rejected.map(([path, value]) => ({
      name: `guard: ${STORE_NAME[kind]}.${method} refuses ${path} = ${describe(value)} with the core's ValidationError, nothing written`,
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const valid = await spec.prepare(store as AnyStore, t);
          await expectRefused(kind, method, store as AnyStore, spec, valid, setPath(valid, path, value), t);
        }),
    })),
  );
}

function describe(v: unknown): string {
  if (typeof v === "string") return v.length > 20 ? `${v.length} characters` : JSON.stringify(v);
  return Number.isNaN(v) ? "NaN" : (JSON.stringify(v) ?? String(v));
}

/** Options of the hostile-values suite: property-based runs per field (default 12). */
export interface HostileValuesOptions {
  numRuns?: number;
}

const UNIQUE_FIELDS = new Set(["record.id", "events[0].id", "message.id", "message.idempotencyKey", "request.id"]);

async function tryValue(
  kind: StoreKind,
  method: string,
  store: AnyStore,
  spec: MethodSpec,
  t: string,
  path: string,
  at: string,
  mode: "text" | "key" | "value",
  value: string,
) {
  // Ids and idempotency keys are unique store-wide: the same generated value twice would be a
  // duplicate, not a round trip. A suffix keeps each one apart (the hostile part stays in front).
  const v = mode === "text" && UNIQUE_FIELDS.has(path) ? `${value}~${randomKey("u")}` : value;
  const valid = await spec.prepare(store, t);
  const bad = setPath(valid, path, mode === "text" ? v : mode === "key" ? { [v]: 1 } : { k: v, list: [v] });
  if (predicted(kind, method, bad)) return expectRefused(kind, method, store, spec, valid, bad, t);
  await call(store, method, bad);
  const stored = await spec.read(store, bad, t);
  const got = getPath(stored, at);
  const label = `${STORE_NAME[kind]}.${method} ${path} round-trips ${describe(v)}`;
  if (mode === "text") expect(got === v, `${label} (got ${describe(got)})`).toBe(true);
  else if (mode === "key") expect(Object.keys(got as object).includes(v), label).toBe(true);
  else expect((got as { k: unknown }).k === v && (got as { list: unknown[] }).list[0] === v, label).toBe(true);
}

/**
 * The hostile-values cases of one store: for each write method and text field (JSON keys and
 * string values included), NUL, lone surrogates, 4-byte emoji, right-to-left text, 100 KB and
 * empty strings, then fast-check strings of any code unit: each is either refused exactly as the
 * core table (`checkStoreInput`) refuses it — same message, same issues, nothing changed — or
 * stored and read back byte-identical.
 */
export function hostileValueCases<S extends object>(
  kind: StoreKind,
  opts: ConformanceOptions<S, unknown>,
  options: HostileValuesOptions = {},
): ConformanceCase[] {
  const specs = SPECS[kind] ?? {};
  const numRuns = options.numRuns ?? 12;
  return Object.entries(specs).flatMap(([method, spec]) => {
    const fields: Array<[string, string, "text" | "key" | "value"]> = [
      ...Object.entries(spec.text).map(([p, at]) => [p, at, "text"] as [string, string, "text"]),
      ...Object.entries(spec.json).flatMap(([p, at]) => [
        [p, at, "value"] as [string, string, "value"],
        [p, at, "key"] as [string, string, "key"],
      ]),
    ];
    return fields.map(([path, at, mode]) => ({
      name: `hostile values: ${STORE_NAME[kind]}.${method} ${path}${mode === "text" ? "" : ` (JSON ${mode}s)`}: refused by the core table or stored byte-identical`,
      run: () =>
        withStore(opts, async (store) => {
          const s = store as AnyStore;
          for (const v of Object.values(HOSTILE_STRINGS)) await tryValue(kind, method, s, spec, randomTenant(), path, at, mode, v);
          await fc.assert(
            fc.asyncProperty(HOSTILE_STRING, async (v) => {
              await tryValue(kind, method, s, spec, randomTenant(), path, at, mode, v);
            }),
            { numRuns },
          );
        }),
    }));
  });
}

/** Both: the rejected-input cases and the hostile-values cases of one store kind. */
export function guardCases<S extends object>(kind: StoreKind, opts: ConformanceOptions<S, unknown>): ConformanceCase[] {
  return [...rejectedInputCases(kind, opts), ...hostileValueCases(kind, opts)];
}

/** What `describeHostileValuesConformance` takes: a fresh store bundle per case (any subset of stores). */
export interface HostileValuesConformanceOptions extends HostileValuesOptions {
  name: string;
  create: () => Partial<OpsStores> | Promise<Partial<OpsStores>>;
  cleanup?: (stores: Partial<OpsStores>) => void | Promise<void>;
  timeout?: number;
}

class NoSuchStore extends Error {}

/**
 * Registers the hostile-values suite (and the rejected-input table) for every store a custom
 * adapter's bundle has, with vitest. A store the bundle lacks is skipped.
 */
export function describeHostileValuesConformance(opts: HostileValuesConformanceOptions): void {
  for (const kind of Object.keys(SPECS) as StoreKind[]) {
    const bundles = new WeakMap<object, Partial<OpsStores>>();
    const sub: ConformanceOptions<object, unknown> = {
      name: opts.name,
      create: async () => {
        const bundle = await opts.create();
        const store = bundle[kind as keyof OpsStores] as object | undefined;
        if (!store) {
          await opts.cleanup?.(bundle);
          throw new NoSuchStore(kind);
        }
        bundles.set(store, bundle);
        return store;
      },
      cleanup: async (store) => {
        const b = bundles.get(store);
        if (b) await opts.cleanup?.(b);
      },
    };
    const cases = [...rejectedInputCases(kind, sub), ...hostileValueCases(kind, sub, opts)].map((c) => ({
      ...c,
      run: (ctx?: { skip: (note?: string) => void }) =>
        c.run(ctx).catch((err: unknown) => {
          if (err instanceof NoSuchStore) return ctx?.skip(`the bundle has no ${kind} store`);
          throw err;
        }),
    }));
    registerCases(`${opts.name}: ${STORE_NAME[kind]} hostile values`, cases, {}, opts.timeout ?? 120_000);
  }
}
