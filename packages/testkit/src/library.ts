import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createAuditLog } from "@ops/audit";
import {
  type AuditSinkEntry,
  type AuditStore,
  type AuthEventStore,
  type CounterStore,
  type FlagRecord,
  type FlagStore,
  type IncidentRecord,
  type IncidentStore,
  type JsonValue,
  type TenantKey,
  ValidationError,
} from "@ops/core";
import { randomKey, randomTenant } from "./conformance.js";
import { HOSTILE_STRING, HOSTILE_STRINGS } from "./guard.js";

// Hostile values through the library alone (not the stores): the signal recorder
// (`recordAuthEvent` + flush), `FeatureFlagController` writes and `IncidentManager` writes. For each
// write and caller text field, every hostile string is either refused with a ValidationError naming
// the caller's field before anything is written (nothing recorded, flag/incident version unchanged,
// no audit entry) or stored and read back byte-identical; a clean write right behind is stored.
// @ops/testkit cannot import @ops/flags or @ops/incidents (they depend on it): the caller passes
// the classes and functions in, typed structurally here.

/** The part of `SignalRecorder` (@ops/incidents) the suite drives. */
export interface LibrarySignalRecorder {
  recordAuthEvent(e: {
    type: string;
    tenantId?: TenantKey;
    userId?: string;
    ip?: string;
    provider?: string;
    meta?: Record<string, JsonValue>;
  }): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): { recorded: number; buffered: number };
}

/** The part of `FeatureFlagController` (@ops/flags) the suite drives. */
export interface LibraryFlagController {
  ready(): Promise<void>;
  close(): Promise<void>;
  setFlag(input: { key: string; newValue: JsonValue; tenantId?: TenantKey; actorUserId: string; reason: string }): Promise<FlagRecord>;
  setEnabled(input: { key: string; enabled: boolean; actorUserId: string; reason: string }): Promise<FlagRecord>;
}

/** The part of `IncidentManager` (@ops/incidents) the suite drives. */
export interface LibraryIncidentManager {
  raise(event: never, response: never, o?: { title?: string }): Promise<{ incident: IncidentRecord }>;
  acknowledge(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }): Promise<IncidentRecord>;
  resolve(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }): Promise<IncidentRecord>;
  transition(i: { tenantId: TenantKey; id: string; to: "mitigated"; actor: string; reason?: string }): Promise<IncidentRecord>;
  record(
    action: string,
    incident: IncidentRecord,
    actor: string,
    reason: string | undefined,
    meta: Record<string, JsonValue>,
  ): Promise<unknown>;
}

/** The stores one case runs over (fresh per case or shared: every case uses its own tenants and keys). */
export interface LibraryStores {
  /** With an audit store, flag and incident writes are audited through a real `createAuditLog` over it (else captured in memory). */
  audit?: AuditStore;
  counters?: CounterStore;
  authEvents?: AuthEventStore;
  flags?: FlagStore;
  incidents?: IncidentStore;
}

export interface LibraryHostileValuesOptions {
  name: string;
  stores: () => LibraryStores | Promise<LibraryStores>;
  cleanup?: (stores: LibraryStores) => void | Promise<void>;
  /** `createSignalRecorder` of @ops/incidents. */
  signals?: { createSignalRecorder: (o: { counters: CounterStore; authEvents?: AuthEventStore }) => LibrarySignalRecorder };
  /** `FeatureFlagController` of @ops/flags. */
  flags?: {
    FeatureFlagController: new (
      store: FlagStore,
      env: string,
      options: { audit: { record(e: AuditSinkEntry): Promise<void> } },
    ) => LibraryFlagController;
  };
  /** `IncidentManager` and `runAuthOpsSpine` of @ops/incidents. */
  incidents?: {
    IncidentManager: new (o: { store: IncidentStore; audit: { record(e: AuditSinkEntry): Promise<void> } }) => LibraryIncidentManager;
    runAuthOpsSpine: (event: never) => unknown;
  };
  /** Property-based strings per field (default 3: CI time). */
  numRuns?: number;
  timeout?: number;
}

const label = (field: string, v: string) => `${field} = ${v.length > 20 ? `${v.length} characters` : JSON.stringify(v)}`;

/** Runs `write`; a refusal must be a ValidationError whose first issue names `field`. Returns whether it was refused. */
async function refusedNaming(write: () => unknown, field: string, what: string): Promise<boolean> {
  let err: unknown = null;
  try {
    await write();
  } catch (e) {
    err = e;
  }
  if (err === null) return false;
  expect(err, `${what}: expected a ValidationError, got ${String(err)}`).toBeInstanceOf(ValidationError);
  const path = (err as ValidationError).issues[0]?.path ?? "";
  expect(
    path === field ||
      path.startsWith(`${field}.`) ||
      (field.endsWith(" key") && (path === field.slice(0, -4) || path.startsWith(`${field.slice(0, -4)}.`))),
    `${what}: the error names "${path}"`,
  ).toBe(true);
  return true;
}

/** The audit sink of a case: the audit log over the adapter's store when it has one; `entries` are those it accepted. */
function sink(store: AuditStore | undefined): {
  entries: AuditSinkEntry[];
  audit: { record(e: AuditSinkEntry): Promise<void> };
  close: () => Promise<void>;
} {
  const entries: AuditSinkEntry[] = [];
  const log = store ? createAuditLog({ store, env: "test" }) : null;
  return {
    entries,
    audit: {
      record: async (e) => {
        await log?.record(e);
        entries.push(structuredClone(e));
      },
    },
    close: async () => void (await log?.close()),
  };
}

async function forEachValue(numRuns: number, check: (v: string) => Promise<void>): Promise<void> {
  for (const v of Object.values(HOSTILE_STRINGS)) await check(v);
  await fc.assert(fc.asyncProperty(HOSTILE_STRING, check), { numRuns });
}

// ------------------------------------------------------------------ signals

const SIGNAL_FIELDS = ["userId", "ip", "provider", "meta.k", "meta key"] as const;
type SignalField = (typeof SIGNAL_FIELDS)[number];

async function signalHostile(rec: LibrarySignalRecorder, stores: LibraryStores, field: SignalField, v: string): Promise<void> {
  const counters = stores.counters!;
  const authEvents = stores.authEvents!;
  const t = randomTenant();
  const what = `recordAuthEvent ${label(field, v)}`;
  {
    const signal = {
      type: "LOGIN_FAILED",
      tenantId: t,
      ...(field === "userId" ? { userId: v } : { userId: "u1" }),
      ...(field === "ip" ? { ip: v } : {}),
      ...(field === "provider" ? { provider: v } : {}),
      ...(field === "meta.k" ? { meta: { k: v } } : field === "meta key" ? { meta: { [v]: 1 } } : {}),
    };
    const before = rec.stats();
    const refused = await refusedNaming(() => rec.recordAuthEvent(signal), field, what);
    if (refused) expect(rec.stats(), `${what}: refused, yet recorded`).toEqual(before);
    // A clean signal right behind: the flush is not blocked by whatever went before.
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: t, userId: "clean" });
    await rec.flush();
    const { items } = await authEvents.list({ tenantId: t, limit: 10 });
    const clean = items.filter((e) => e.userId === "clean");
    expect(clean.length, `${what}: the clean signal behind was not stored`).toBe(1);
    const counted = await counters.sum({
      tenantId: t,
      key: "ev:LOGIN_FAILED",
      bucketMs: 60_000,
      fromMs: Date.now() - 600_000,
      toMs: Date.now() + 120_000,
    });
    if (refused) {
      expect(items.length, `${what}: refused, yet an event was stored`).toBe(1);
      expect(counted, `${what}: refused, yet counted`).toBe(1);
      return;
    }
    expect(items.length, `${what}: accepted, expected 2 stored events`).toBe(2);
    expect(counted, `${what}: accepted, expected 2 counted`).toBe(2);
    const got = items.find((e) => e !== clean[0]);
    const back =
      field === "userId"
        ? got?.userId
        : field === "ip"
          ? got?.ip
          : field === "provider"
            ? got?.provider
            : field === "meta.k"
              ? (got?.meta as { k?: unknown } | undefined)?.k
              : Object.keys(got?.meta ?? {}).includes(v)
                ? v
                : undefined;
    expect(back === v, `${what}: stored, but read back ${JSON.stringify(String(back)).slice(0, 60)}`).toBe(true);
  }
}

// ------------------------------------------------------------------ flags

const FLAG_FIELDS = ["newValue", "actorUserId", "reason", "tenant newValue", "tenant reason", "kill actorUserId", "kill reason"] as const;
type FlagField = (typeof FLAG_FIELDS)[number];

async function flagHostile(
  ctl: LibraryFlagController,
  entries: AuditSinkEntry[],
  store: FlagStore,
  field: FlagField,
  v: string,
): Promise<void> {
  const env = "test";
  const key = randomKey("hv");
  const tenant = field.startsWith("tenant") ? randomTenant() : null;
  const what = `FeatureFlagController ${label(field, v)}`;
  {
    await ctl.setFlag({ key, newValue: "start", actorUserId: "alice", reason: "set up" });
    if (tenant) await ctl.setFlag({ key, newValue: "start", tenantId: tenant, actorUserId: "alice", reason: "set up" });
    const addr = { env, key, tenantId: tenant };
    const before = { version: (await store.get(addr))?.version, entries: entries.length };
    const callerField = field.replace(/^(tenant|kill) /, "");
    const write = () =>
      field.startsWith("kill")
        ? ctl.setEnabled({
            key,
            enabled: false,
            actorUserId: callerField === "actorUserId" ? v : "alice",
            reason: callerField === "reason" ? v : "kill",
          })
        : ctl.setFlag({
            key,
            newValue: callerField === "newValue" ? v : "next",
            ...(tenant ? { tenantId: tenant } : {}),
            actorUserId: callerField === "actorUserId" ? v : "alice",
            reason: callerField === "reason" ? v : "change",
          });
    if (await refusedNaming(write, callerField, what)) {
      expect((await store.get(addr))?.version, `${what}: refused, yet the flag changed`).toBe(before.version);
      expect(entries.length, `${what}: refused, yet audited`).toBe(before.entries);
    } else {
      const rec = await store.get(addr);
      expect(rec?.version, `${what}: accepted, expected a new version`).toBe((before.version ?? 0) + 1);
      expect(entries.length, `${what}: accepted, expected its FLAG_CHANGE entry`).toBe(before.entries + 1);
      const entry = entries.at(-1)!;
      if (callerField === "newValue")
        expect((rec?.config as { value?: unknown } | undefined)?.value === v, `${what}: value not byte-identical`).toBe(true);
      if (callerField === "actorUserId") expect(entry.actor.id === v, `${what}: actor not byte-identical`).toBe(true);
      // Documented: `reason` is trimmed (a reason of only spaces is refused as empty).
      if (callerField === "reason") expect(entry.reason === v.trim(), `${what}: reason not stored as given (trimmed)`).toBe(true);
    }
    // A clean write right behind is stored and audited.
    const n = entries.length;
    const after = await ctl.setFlag({
      key,
      newValue: "clean 😀",
      ...(tenant ? { tenantId: tenant } : {}),
      actorUserId: "bob",
      reason: "clean",
    });
    expect((await store.get(addr))?.version).toBe(after.version);
    expect(entries.length, `${what}: the clean write behind was not audited`).toBe(n + 1);
  }
}

// ------------------------------------------------------------------ incidents

const INCIDENT_FIELDS = [
  "raise title",
  "acknowledge actor",
  "acknowledge reason",
  "resolve actor",
  "transition reason",
  "record actor",
  "record reason",
  "record meta.k",
  "record meta key",
] as const;
type IncidentField = (typeof INCIDENT_FIELDS)[number];

async function incidentHostile(
  lib: NonNullable<LibraryHostileValuesOptions["incidents"]>,
  manager: LibraryIncidentManager,
  store: IncidentStore,
  entries: AuditSinkEntry[],
  field: IncidentField,
  v: string,
): Promise<void> {
  const tenantId = randomTenant();
  const what = `IncidentManager ${label(field, v)}`;
  const event = {
    event_id: `ev-${tenantId}`,
    incident_type: "FAILED_LOGINS_SPIKE",
    severity_guess: 2,
    occurred_at: new Date().toISOString(),
    metrics_snapshot: { failed_logins_5m: 500 },
    tenant_id: tenantId,
  };
  const response = lib.runAuthOpsSpine(event as never);
  const [op, callerField] = field.split(/ (.*)/s) as [string, string];
  if (op === "raise") {
    const refused = await refusedNaming(() => manager.raise(event as never, response as never, { title: v }), callerField, what);
    const found = await store.list({ tenantId, limit: 5 });
    if (refused) expect(found.items.length, `${what}: refused, yet an incident was stored`).toBe(0);
    else expect(found.items[0]?.title === v, `${what}: title not byte-identical`).toBe(true);
    // A clean raise right behind (its own tenant: the one above may hold the active incident).
    const clean = { ...event, event_id: `${event.event_id}-clean`, tenant_id: `${tenantId}c` };
    const { incident } = await manager.raise(clean as never, lib.runAuthOpsSpine(clean as never) as never, { title: "clean 😀" });
    expect((await store.get({ tenantId: `${tenantId}c`, id: incident.id }))?.title).toBe("clean 😀");
    return;
  }
  const { incident } = await manager.raise(event as never, response as never);
  const at = { tenantId, id: incident.id };
  const before = { version: incident.version, entries: entries.length };
  const text = (f: string, dflt: string | undefined) => (callerField === f ? v : dflt);
  const write = () =>
    op === "acknowledge"
      ? manager.acknowledge({ ...at, actor: text("actor", "alice")!, reason: text("reason", "r")! })
      : op === "resolve"
        ? manager.resolve({ ...at, actor: v })
        : op === "transition"
          ? manager.transition({ ...at, to: "mitigated", actor: "alice", reason: v })
          : manager.record(
              "INCIDENT_NOTE",
              incident,
              text("actor", "alice")!,
              text("reason", undefined),
              callerField === "meta.k" ? { k: v } : callerField === "meta key" ? { [v]: 1 } : {},
            );
  if (await refusedNaming(write, callerField, what)) {
    const after = await store.get(at);
    expect(after?.version, `${what}: refused, yet the incident changed`).toBe(before.version);
    expect(after?.state).toBe("open");
    expect(entries.length, `${what}: refused, yet audited`).toBe(before.entries);
  } else {
    expect(entries.length, `${what}: accepted, expected an audit entry`).toBe(before.entries + 1);
    const entry = entries.at(-1)!;
    const back =
      callerField === "actor"
        ? entry.actor.id
        : callerField === "reason"
          ? entry.reason
          : callerField === "meta.k"
            ? (entry.meta as { k?: unknown } | undefined)?.k
            : Object.keys(entry.meta ?? {}).includes(v)
              ? v
              : undefined;
    // An empty optional `reason` is the same as none: the entry carries no reason.
    const same = back === v || (callerField === "reason" && v === "" && back === undefined);
    expect(same, `${what}: stored, but read back ${JSON.stringify(String(back)).slice(0, 60)}`).toBe(true);
    if (op !== "record") expect((await store.get(at))?.version, `${what}: accepted, expected a new version`).toBe(before.version + 1);
  }
  // A clean write right behind is stored and audited.
  const n = entries.length;
  const cur = (await store.get(at))!;
  if (cur.state === "resolved") {
    await manager.record("INCIDENT_NOTE", cur, "bob 😀", "clean", {});
  } else {
    const done = await manager.resolve({ ...at, actor: "bob 😀", reason: "clean" });
    expect(done.state).toBe("resolved");
  }
  expect(entries.length, `${what}: the clean write behind was not audited`).toBe(n + 1);
  expect(entries.at(-1)?.actor.id).toBe("bob 😀");
}

/**
 * Registers the library hostile-values suite with vitest: the signal recorder (needs `counters` and
 * `authEvents`), `FeatureFlagController` (needs `flags`) and `IncidentManager` (needs `incidents`)
 * over the stores `stores()` returns. A part whose classes or stores are absent is skipped.
 */
export function describeLibraryHostileValues(opts: LibraryHostileValuesOptions): void {
  const numRuns = opts.numRuns ?? 3;
  const timeout = opts.timeout ?? 60_000;
  const run =
    (need: keyof LibraryStores | "signals", body: (s: LibraryStores) => Promise<void>) => async (ctx: { skip: (n?: string) => void }) => {
      const s = await opts.stores();
      try {
        const ok = need === "signals" ? s.counters && s.authEvents : s[need];
        if (!ok) return ctx.skip(`no ${need} store`);
        await body(s);
      } finally {
        await opts.cleanup?.(s);
      }
    };
  describe(`${opts.name}: library hostile values`, () => {
    const sig = opts.signals;
    describe.skipIf(!sig)("recordAuthEvent + the signal recorder's flush", () => {
      for (const f of SIGNAL_FIELDS)
        it(
          `${f}: refused naming it and nothing recorded, or stored byte-identical; a clean signal behind is stored`,
          run("signals", async (s) => {
            const rec = sig!.createSignalRecorder({ counters: s.counters!, authEvents: s.authEvents! });
            try {
              await forEachValue(numRuns, (v) => signalHostile(rec, s, f, v));
            } finally {
              await rec.close();
            }
          }),
          timeout,
        );
    });
    const fl = opts.flags;
    describe.skipIf(!fl)("FeatureFlagController writes (value, tenant override, kill switch)", () => {
      for (const f of FLAG_FIELDS)
        it(
          `${f}: refused naming it, version unchanged and not audited, or stored byte-identical; a clean write behind is stored`,
          run("flags", async (s) => {
            const { entries, audit, close } = sink(s.audit);
            const ctl = new fl!.FeatureFlagController(s.flags!, "test", { audit });
            try {
              await ctl.ready();
              await forEachValue(numRuns, (v) => flagHostile(ctl, entries, s.flags!, f, v));
            } finally {
              await ctl.close();
              await close();
            }
          }),
          timeout,
        );
    });
    const inc = opts.incidents;
    describe.skipIf(!inc)("IncidentManager writes", () => {
      for (const f of INCIDENT_FIELDS)
        it(
          `${f}: refused naming it, incident unchanged and not audited, or stored byte-identical; a clean write behind is stored`,
          run("incidents", async (s) => {
            const { entries, audit, close } = sink(s.audit);
            try {
              const manager = new inc!.IncidentManager({ store: s.incidents!, audit });
              await forEachValue(numRuns, (v) => incidentHostile(inc!, manager, s.incidents!, entries, f, v));
            } finally {
              await close();
            }
          }),
          timeout,
        );
    });
  });
}
