import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryView as AuditEntry } from "@ops/audit";
import { requireService } from "@ops/testkit";
import { freshDatabase, startTestService, type Reply, type TestService } from "./support.js";

// Issue #23, driven from outside: every write route of the example service (its own routes and the
// console's, enumerated from the routers so a new route cannot be missed) x every text field it
// takes x each poison value. The answer is either 400 with `issues[].path` naming the REQUEST's
// field and nothing changed, or 2xx and the value reads back byte-identical. A clean write sent
// right behind each poison request is stored within 1 s. At the end every flag version has exactly
// one FLAG_CHANGE audit entry and every audit chain verifies. No answer names an adapter or a SQLSTATE.
// One service per backend (PGlite; PostgreSQL as the test role in a database of its own).

const pgUp = await requireService("postgres");

const POISONS: ReadonlyArray<readonly [string, string]> = [
  ["NUL", "a\u0000b"],
  ["lone high surrogate", "a\ud800b"],
  ["lone low surrogate", "a\udc00b"],
  ["100 KB", "x".repeat(100 * 1024)],
  ["empty", ""],
  ["4-byte emoji", "ok\u{1F600}\u{1F9EA}"],
  ["right-to-left", "\u202b\u05e9\u05dc\u05d5\u05dd\u0645\u0631\u062d\u0628\u0627\u202c"],
];

const ops = (p: string) => `/ops/api/v1${p}`;
const LEAK = /\[ops\/|adapter-|SQLSTATE|\(\d{5}\b|\b(22021|22P05|54000|23505|22001)\b/;

/** Where a field travels: the JSON body (default), the URL path (percent-encoded) or the query. */
type Carrier = "body" | "path" | "query";

/**
 * Percent-encodes the UTF-16 text `s` for a URL: UTF-8 bytes, and a lone surrogate as its
 * generalized-UTF-8 bytes (what a client that does not check would send).
 */
function pct(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const bytes =
      cp >= 0xd800 && cp <= 0xdfff ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)] : [...Buffer.from(ch, "utf8")];
    for (const b of bytes)
      out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** What a server that decodes `pct(s)` as UTF-8 sees: each of a lone surrogate's 3 bytes becomes U+FFFD. */
const decoded = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd".repeat(3));

interface FieldCase {
  /** The request's own name of the field, as `issues[].path` must give it. */
  field: string;
  carrier?: Carrier;
  /** Prepares what request `n` acts on, when this field needs it (default: the route's `prepare`). */
  prepare?(n: number): Promise<void>;
  /** Sends the request with `v` in the field; `n` makes every request's other values unique. */
  send(v: string, n: number): Promise<Reply>;
  /** After a 2xx: the stored value of the field (undefined: not found), or NOT_STORED when the route keeps no such value. */
  readBack?(v: string, n: number): Promise<unknown>;
  /** A fingerprint of everything the request could have changed, compared before/after a refusal. */
  state(n: number): Promise<unknown>;
}

interface RouteSpec {
  /** Prepares what request `n` acts on (a fresh incident, a schedule, a pending message). */
  prepare?(n: number): Promise<void>;
  fields: FieldCase[];
  /**
   * Sends a clean write of this route (or, for routes that cannot repeat, of the service) and
   * resolves with a check that it was stored within 1 s of sending (awaited after the field's batch).
   */
  clean(n: number): Promise<() => Promise<void>>;
  /** Stored later (the signal recorder): refusals are checked after the clean writes behind them are stored. */
  deferred?: boolean;
}

function stringIn(v: unknown): v is string {
  return typeof v === "string";
}

function matrix(name: string, onPg: boolean) {
  describe(`poison values on every write route (${name})`, () => {
    let t: TestService;
    let db: { url: string; drop: () => Promise<void> } | undefined;
    let n = 0;
    const env = () => t.service.config.env;
    const admin = (method: string, path: string, body?: unknown) =>
      t.call(method, path, { ...(body !== undefined ? { body } : {}), headers: { origin: t.base } });
    const ok = (r: Reply, what: string) => {
      if (r.status >= 300) throw new Error(`${what} -> ${r.status} ${r.text.slice(0, 300)}`);
      return r;
    };

    // --- readers through the stores -------------------------------------------------------
    const flagRec = (key: string, tenantId: string | null = null) => t.service.storage.flags.get({ env: env(), key, tenantId });
    const flagState = async (key: string, tenantId: string | null = null) => {
      const r = await flagRec(key, tenantId);
      return r ? { v: r.version, c: JSON.stringify(r.config) } : null;
    };
    const auditOf = async (tenantId: string | null, targetId?: string): Promise<AuditEntry[]> => {
      const out: AuditEntry[] = [];
      let cursor: string | null = null;
      do {
        const p = await t.service.audit.query({ tenantId, ...(targetId ? { targetId } : {}), limit: 500, cursor, order: "asc" });
        out.push(...(p.items as AuditEntry[]));
        cursor = p.nextCursor;
      } while (cursor);
      return out;
    };
    const lastEntry = async (tenantId: string | null, targetId?: string) =>
      (await t.service.audit.query({ tenantId, ...(targetId ? { targetId } : {}), limit: 1, cursor: null, order: "desc" })).items[0] as
        | AuditEntry
        | undefined;
    /** The newest entry of a chain (or of one target in it): unchanged when nothing was appended. */
    const auditHead = async (tenantId: string | null, targetId?: string) => (await lastEntry(tenantId, targetId))?.id ?? null;
    const lastReason = async (tenantId: string | null, targetId: string) => (await lastEntry(tenantId, targetId))?.reason;
    const incident = (tenantId: string, id: string) => t.service.storage.incidents.get({ tenantId, id });
    const incidentState = async (tenantId: string, id: string) => {
      const r = await incident(tenantId, id);
      return { s: r?.state, v: r?.version, a: await auditHead(tenantId) };
    };
    const flagsFingerprint = async () => {
      const r = await t.service.storage.flags.list({ env: env(), tenantId: null, limit: 1000, cursor: null });
      return r.items.map((x) => `${x.key}@${x.version}`).join(",");
    };
    const signals = async (tenant: string, q: string) => {
      const r = ok(await t.call("GET", `/api/signals?${q}`, { tenant, role: "operator" }), "list signals");
      return r.json.signals as Array<Record<string, unknown>>;
    };
    const silences = async () => (await t.service.runtime.silences.list()).map((s) => `${s.id}:${s.endsAt}`).join(",");
    const outboxFingerprint = async () => {
      const r = await t.service.notifier.list({ tenantId: null, limit: 1000, cursor: null });
      return r.items.map((m) => `${m.id}:${m.status}`).join(",");
    };

    /** Polls until `probe` is truthy, at most `ms`. */
    async function within<T>(deadline: number, what: string, probe: () => Promise<T | undefined | null | false>): Promise<T> {
      for (;;) {
        const v = await probe();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`not by the deadline: ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }

    // --- fixtures -------------------------------------------------------------------------
    /** A fresh incident of its own tenant (so its fingerprint is new): raised by the seed's route. */
    async function newIncident(tenant: string): Promise<string> {
      const r = ok(
        await t.call("POST", "/api/ops/auth", {
          tenant,
          role: "operator",
          body: { metrics: { failed_logins_1h: 5000, logins_1h: 5200 } },
        }),
        "raise incident",
      );
      expect(r.json.incidents.length).toBeGreaterThan(0);
      const list = await t.service.storage.incidents.list({ tenantId: tenant, limit: 10, cursor: null });
      return list.items[0]!.id;
    }
    let cleanSignal = 0;
    /** A clean signal; the check: stored within 1 s of sending (the recorder flushes every second). */
    async function cleanSignalWrite(): Promise<() => Promise<void>> {
      const userId = `clean-${++cleanSignal}`;
      const sent = Date.now();
      ok(await t.call("POST", "/api/signals", { tenant: "mx", role: "operator", body: { type: "LOGIN_FAILED", userId } }), "clean signal");
      return async () => {
        await within(sent + 1000, `clean signal ${userId} stored`, async () => (await signals("mx", `userId=${userId}`)).length === 1);
      };
    }
    /** A clean flag write: stored when answered, answered within 1 s. */
    async function cleanFlagWrite(key: string, tenant?: string): Promise<() => Promise<void>> {
      const sent = Date.now();
      const value = `clean-${n}`;
      ok(
        await admin("PUT", ops(tenant ? `/flags/${key}/overrides/${tenant}` : `/flags/${key}/value`), { value, reason: "clean write" }),
        "clean flag write",
      );
      const took = Date.now() - sent;
      expect(((await flagRec(key, tenant ?? null))?.config as { value?: unknown } | undefined)?.value).toBe(value);
      return async () => expect(took, `clean write of ${key} answered in ${took} ms`).toBeLessThan(1000);
    }

    // --- one spec per write route ---------------------------------------------------------
    const incidentsByN = new Map<number, { tenant: string; id: string }>();
    const scheduleByN = new Map<number, string>();
    const silenceByN = new Map<number, string>();
    const messageByN = new Map<number, string>();
    let suggestion: { tenant: string | null; id: string; key: string } | undefined;

    const transitionSpec = (action: string, before?: string): RouteSpec => {
      const at = (m: number) => incidentsByN.get(m)!;
      const path = (m: number, id = at(m).id) => ops(`/incidents/${id}/${action}?tenant=${at(m).tenant}`);
      let shared: { tenant: string; id: string } | undefined;
      const fresh = async (m: number) => {
        const tenant = `i${m}`;
        const id = await newIncident(tenant);
        if (before) ok(await admin("POST", ops(`/incidents/${id}/${before}?tenant=${tenant}`), { reason: "prepare" }), before);
        return { tenant, id };
      };
      return {
        fields: [
          {
            field: "reason",
            // Each request acts on an incident of its own, in the state the action starts from.
            prepare: async (m) => void incidentsByN.set(m, await fresh(m)),
            send: (v, m) => admin("POST", path(m), { reason: v }),
            // acknowledge/resolve keep it in their transition's entry; mitigate/rollback in the console's own.
            readBack: async (_v, m) =>
              (await auditOf(at(m).tenant, at(m).id))
                .filter((e) => e.action === "ADMIN_ACTION" || e.action.endsWith("ACKNOWLEDGED") || e.action.endsWith("RESOLVED"))
                .at(-1)?.reason,
            state: (m) => incidentState(at(m).tenant, at(m).id),
          },
          {
            field: "id",
            carrier: "path",
            prepare: async (m) => void incidentsByN.set(m, (shared ??= await fresh(m))),
            send: (v, m) => admin("POST", path(m, pct(v)), { reason: "poison id" }),
            state: (m) => incidentState(at(m).tenant, at(m).id),
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      };
    };

    const specs: Record<string, RouteSpec> = {
      "POST /api/signals": {
        deferred: true,
        fields: (["userId", "ip", "provider", "meta.k", "tenantId"] as const).map(
          (field): FieldCase => ({
            field,
            send: (v, m) => {
              const e: Record<string, unknown> = {
                type: "LOGIN_FAILED",
                userId: `u-${m}`,
                ip: `ip-${m}`,
                provider: "password",
                meta: { k: "v" },
              };
              if (field === "meta.k") e.meta = { k: v };
              else e[field] = v;
              return t.call("POST", "/api/signals", { tenant: "mx", role: "operator", body: e });
            },
            readBack: async (_v, m) => {
              const q = field === "userId" ? `ip=ip-${m}` : `userId=u-${m}`;
              const found = await within(Date.now() + 1000, `signal ${m} stored`, async () => (await signals("mx", q))[0]);
              return field === "meta.k" ? (found.meta as Record<string, unknown>)?.k : found[field];
            },
            // Nothing stored for this request: checked after the clean signal behind it is stored.
            state: async (m) => (await signals("mx", field === "userId" ? `ip=ip-${m}` : `userId=u-${m}`)).length,
          }),
        ),
        clean: async () => cleanSignalWrite(),
      },
      "POST /api/ops/auth": {
        fields: [
          {
            field: "metrics.note",
            send: (v, m) =>
              t.call("POST", "/api/ops/auth", {
                tenant: `a${m}`,
                role: "operator",
                body: { metrics: { failed_logins_1h: 5000, logins_1h: 5200, note: v } },
              }),
            readBack: async (_v, m) => {
              const list = await t.service.storage.incidents.list({ tenantId: `a${m}`, limit: 10, cursor: null });
              const data = list.items[0]?.data as { event?: { metrics_snapshot?: Record<string, unknown> } } | undefined;
              return data?.event?.metrics_snapshot?.note;
            },
            state: async (m) => (await t.service.storage.incidents.list({ tenantId: `a${m}`, limit: 10, cursor: null })).items.length,
          },
          {
            // A count where text arrives: refused by the detectors' own schema.
            field: "metrics.failed_logins_1h",
            send: (v, m) =>
              t.call("POST", "/api/ops/auth", { tenant: `f${m}`, role: "operator", body: { metrics: { failed_logins_1h: v } } }),
            state: async (m) => (await t.service.storage.incidents.list({ tenantId: `f${m}`, limit: 10, cursor: null })).items.length,
          },
          {
            // Read for detection only (the incident's tenant is the principal's): nothing of it is stored.
            field: "context.env",
            send: (v, m) =>
              t.call("POST", "/api/ops/auth", {
                tenant: `e${m}`,
                role: "operator",
                body: { metrics: { failed_logins_1h: 5000, logins_1h: 5200 }, context: { env: v } },
              }),
            state: async (m) => (await t.service.storage.incidents.list({ tenantId: `e${m}`, limit: 10, cursor: null })).items.length,
          },
        ],
        clean: async (m) => {
          const sent = Date.now();
          await newIncident(`ac${m}`);
          const took = Date.now() - sent;
          return async () => expect(took, `clean incident raised in ${took} ms`).toBeLessThan(1000);
        },
      },
      "POST /ops/api/v1/flags/:key/evaluate": {
        fields: [
          {
            field: "context.plan",
            send: (v) => admin("POST", ops("/flags/mx.value/evaluate"), { context: { plan: v } }),
            // Evaluation stores nothing.
            state: async () => flagsFingerprint(),
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      "PUT /ops/api/v1/flags/:key/value": {
        fields: [
          {
            field: "value",
            send: (v) => admin("PUT", ops("/flags/mx.value/value"), { value: v, reason: "value poison" }),
            readBack: async () => ((await flagRec("mx.value"))?.config as { value?: unknown } | undefined)?.value,
            state: async () => [await flagState("mx.value"), await auditHead(null, "mx.value")],
          },
          {
            field: "reason",
            send: (v) => admin("PUT", ops("/flags/mx.reason/value"), { value: `r${n}`, reason: v }),
            readBack: async () => lastReason(null, "mx.reason"),
            state: async () => [await flagState("mx.reason"), await auditHead(null, "mx.reason")],
          },
          {
            field: "key",
            carrier: "path",
            send: (v) => admin("PUT", ops(`/flags/${pct(v)}/value`), { value: 1, reason: "poison key" }),
            state: async () => flagsFingerprint(),
          },
        ],
        clean: async () => cleanFlagWrite("mx.value"),
      },
      "PUT /ops/api/v1/flags/:key/enabled": {
        fields: [
          {
            field: "reason",
            send: (v) => admin("PUT", ops("/flags/mx.enabled/enabled"), { enabled: n % 2 === 0, reason: v }),
            readBack: async () => lastReason(null, "mx.enabled"),
            state: async () => [await flagState("mx.enabled"), await auditHead(null, "mx.enabled")],
          },
        ],
        clean: async () => cleanFlagWrite("mx.enabled"),
      },
      "PUT /ops/api/v1/flags/:key/rollout": {
        fields: [
          {
            field: "reason",
            send: (v) => admin("PUT", ops("/flags/mx.rollout/rollout"), { rollout: { percentage: n % 100, value: "on" }, reason: v }),
            readBack: async () => lastReason(null, "mx.rollout"),
            state: async () => [await flagState("mx.rollout"), await auditHead(null, "mx.rollout")],
          },
          {
            field: "rollout.value",
            send: (v) =>
              admin("PUT", ops("/flags/mx.rollout/rollout"), { rollout: { percentage: 50, value: v }, reason: "rollout poison" }),
            readBack: async () => ((await flagRec("mx.rollout"))?.config as { rollout?: { value?: unknown } } | undefined)?.rollout?.value,
            state: async () => [await flagState("mx.rollout"), await auditHead(null, "mx.rollout")],
          },
        ],
        clean: async () => cleanFlagWrite("mx.rollout"),
      },
      "POST /ops/api/v1/flags/:key/schedule": {
        fields: [
          {
            field: "reason",
            send: (v) =>
              admin("POST", ops("/flags/mx.schedule/schedule"), { at: "2099-01-01T00:00:00Z", patch: { value: `s${n}` }, reason: v }),
            readBack: async () => scheduled("mx.schedule", "reason"),
            state: async () => [await flagState("mx.schedule"), await auditHead(null, "mx.schedule")],
          },
          {
            field: "patch.value",
            send: (v) =>
              admin("POST", ops("/flags/mx.schedule/schedule"), {
                at: "2099-01-01T00:00:00Z",
                patch: { value: v },
                reason: "patch poison",
              }),
            readBack: async () => scheduled("mx.schedule", "value"),
            state: async () => [await flagState("mx.schedule"), await auditHead(null, "mx.schedule")],
          },
          {
            field: "at",
            send: (v) => admin("POST", ops("/flags/mx.schedule/schedule"), { at: v, patch: { value: 1 }, reason: "at poison" }),
            state: async () => [await flagState("mx.schedule"), await auditHead(null, "mx.schedule")],
          },
        ],
        clean: async () => cleanFlagWrite("mx.schedule"),
      },
      "DELETE /ops/api/v1/flags/:key/schedule/:id": {
        async prepare(m) {
          const r = ok(
            await admin("POST", ops("/flags/mx.unschedule/schedule"), {
              at: "2099-01-01T00:00:00Z",
              patch: { value: "later" },
              reason: "prepare",
            }),
            "schedule",
          );
          scheduleByN.set(m, r.json.id);
        },
        fields: [
          {
            field: "reason",
            send: (v, m) => admin("DELETE", ops(`/flags/mx.unschedule/schedule/${scheduleByN.get(m)}`), { reason: v }),
            readBack: async () => lastReason(null, "mx.unschedule"),
            state: async () => [await flagState("mx.unschedule"), await auditHead(null, "mx.unschedule")],
          },
          {
            field: "id",
            carrier: "path",
            send: (v) => admin("DELETE", ops(`/flags/mx.unschedule/schedule/${pct(v)}`), { reason: "poison id" }),
            state: async () => [await flagState("mx.unschedule"), await auditHead(null, "mx.unschedule")],
          },
        ],
        clean: async () => cleanFlagWrite("mx.unschedule"),
      },
      "PUT /ops/api/v1/flags/:key/overrides/:tenant": {
        fields: [
          {
            field: "value",
            send: (v) => admin("PUT", ops("/flags/mx.override/overrides/ot"), { value: v, reason: "override poison" }),
            readBack: async () => ((await flagRec("mx.override", "ot"))?.config as { value?: unknown } | undefined)?.value,
            state: async () => [await flagState("mx.override", "ot"), await auditHead("ot")],
          },
          {
            field: "reason",
            send: (v) => admin("PUT", ops("/flags/mx.override/overrides/ot"), { value: `o${n}`, reason: v }),
            readBack: async () => lastReason("ot", "mx.override"),
            state: async () => [await flagState("mx.override", "ot"), await auditHead("ot")],
          },
          {
            field: "tenant",
            carrier: "path",
            send: (v) => admin("PUT", ops(`/flags/mx.override/overrides/${pct(v)}`), { value: 1, reason: "poison tenant" }),
            state: async () => flagsFingerprint(),
          },
        ],
        clean: async () => cleanFlagWrite("mx.override", "ot"),
      },
      "DELETE /ops/api/v1/flags/:key/overrides/:tenant": {
        async prepare() {
          ok(await admin("PUT", ops("/flags/mx.override/overrides/ou"), { value: "x", reason: "prepare" }), "override");
        },
        fields: [
          {
            field: "reason",
            send: (v) => admin("DELETE", ops("/flags/mx.override/overrides/ou"), { reason: v }),
            readBack: async () => lastReason("ou", "mx.override"),
            state: async () => [await flagState("mx.override", "ou"), await auditHead("ou")],
          },
          {
            field: "tenant",
            carrier: "path",
            send: (v) => admin("DELETE", ops(`/flags/mx.override/overrides/${pct(v)}`), { reason: "poison tenant" }),
            state: async () => [await flagState("mx.override", "ou"), await auditHead("ou")],
          },
        ],
        clean: async () => cleanFlagWrite("mx.override", "ou"),
      },
      "POST /ops/api/v1/incidents/:id/acknowledge": transitionSpec("acknowledge"),
      "POST /ops/api/v1/incidents/:id/resolve": transitionSpec("resolve"),
      "POST /ops/api/v1/incidents/:id/mitigate": transitionSpec("mitigate"),
      "POST /ops/api/v1/incidents/:id/rollback": transitionSpec("rollback", "mitigate"),
      "POST /ops/api/v1/incidents/:id/apply-suggestion": {
        fields: [
          {
            field: "reason",
            send: (v) =>
              admin(
                "POST",
                ops(`/incidents/${suggestion!.id}/apply-suggestion${suggestion!.tenant ? `?tenant=${suggestion!.tenant}` : ""}`),
                {
                  key: suggestion!.key,
                  reason: v,
                },
              ),
            // The stored reason names the incident after the operator's own text.
            readBack: async (v) => {
              const r = await lastReason(null, suggestion!.key);
              return r?.startsWith(`${v} (incident `) ? v : r;
            },
            state: async () => [await flagState(suggestion!.key), await auditHead(null, suggestion!.key)],
          },
          {
            field: "key",
            send: (v) =>
              admin(
                "POST",
                ops(`/incidents/${suggestion!.id}/apply-suggestion${suggestion!.tenant ? `?tenant=${suggestion!.tenant}` : ""}`),
                {
                  key: v,
                  reason: "poison key",
                },
              ),
            state: async () => flagsFingerprint(),
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      "POST /ops/api/v1/silences": {
        fields: [
          {
            field: "reason",
            send: (v) =>
              admin("POST", ops("/silences"), {
                matcher: { types: ["FAILED_LOGINS_SPIKE"], tenantIds: [`s${n}`] },
                endsAt: "2099-01-01T00:00:00Z",
                reason: v,
              }),
            readBack: async () => (await t.service.runtime.silences.list()).find((s) => s.matcher.tenantIds?.[0] === `s${n}`)?.comment,
            state: async () => [await silences(), await auditHead(null)],
          },
          {
            field: "matcher.types[0]",
            send: (v) =>
              admin("POST", ops("/silences"), { matcher: { types: [v] }, endsAt: "2099-01-01T00:00:00Z", reason: "poison type" }),
            state: async () => [await silences(), await auditHead(null)],
          },
          {
            field: "matcher.tenantIds[0]",
            send: (v) =>
              admin("POST", ops("/silences"), { matcher: { tenantIds: [v] }, endsAt: "2099-01-01T00:00:00Z", reason: "poison tenant" }),
            state: async () => [await silences(), await auditHead(null)],
          },
          {
            field: "endsAt",
            send: (v) => admin("POST", ops("/silences"), { matcher: { tenantIds: ["sx"] }, endsAt: v, reason: "poison endsAt" }),
            state: async () => [await silences(), await auditHead(null)],
          },
        ],
        clean: async () => {
          const sent = Date.now();
          const r = ok(
            await admin("POST", ops("/silences"), { matcher: { tenantIds: ["sc"] }, endsAt: "2099-01-01T00:00:00Z", reason: `clean ${n}` }),
            "silence",
          );
          const took = Date.now() - sent;
          expect((await t.service.runtime.silences.list()).some((s) => s.id === r.json.id)).toBe(true);
          return async () => expect(took, `clean silence answered in ${took} ms`).toBeLessThan(1000);
        },
      },
      "DELETE /ops/api/v1/silences/:id": {
        async prepare(m) {
          const r = ok(
            await admin("POST", ops("/silences"), { matcher: { tenantIds: ["sd"] }, endsAt: "2099-01-01T00:00:00Z", reason: "prepare" }),
            "silence",
          );
          silenceByN.set(m, r.json.id);
        },
        fields: [
          {
            field: "reason",
            send: (v, m) => admin("DELETE", ops(`/silences/${silenceByN.get(m)}`), { reason: v }),
            readBack: async (_v, m) => lastReason(null, silenceByN.get(m)!),
            state: async () => [await silences(), await auditHead(null)],
          },
          {
            field: "id",
            carrier: "path",
            send: (v) => admin("DELETE", ops(`/silences/${pct(v)}`), { reason: "poison id" }),
            state: async () => [await silences(), await auditHead(null)],
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      "POST /ops/api/v1/runtime/tick": {
        fields: [
          {
            field: "reason",
            send: (v) => admin("POST", ops("/runtime/tick"), { reason: v }),
            readBack: async () => lastReason(null, "runtime"),
            state: async () => auditHead(null, "runtime"),
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      "POST /ops/api/v1/outbox/:id/resend": {
        async prepare(m) {
          messageByN.set(m, await newMessage(m, true));
        },
        fields: [
          {
            field: "reason",
            send: (v, m) => admin("POST", ops(`/outbox/${messageByN.get(m)}/resend`), { reason: v }),
            readBack: async (_v, m) => (await auditOf(null, messageByN.get(m)!)).filter((e) => e.action === "ADMIN_ACTION").at(-1)?.reason,
            state: async () => [await outboxFingerprint(), await auditHead(null)],
          },
          {
            field: "id",
            carrier: "path",
            send: (v) => admin("POST", ops(`/outbox/${pct(v)}/resend`), { reason: "poison id" }),
            state: async () => [await outboxFingerprint(), await auditHead(null)],
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      "POST /ops/api/v1/outbox/:id/cancel": {
        async prepare(m) {
          messageByN.set(m, await newMessage(m, false));
        },
        fields: [
          {
            field: "reason",
            send: (v, m) => admin("POST", ops(`/outbox/${messageByN.get(m)}/cancel`), { reason: v }),
            readBack: async (_v, m) => (await auditOf(null, messageByN.get(m)!)).filter((e) => e.action === "ADMIN_ACTION").at(-1)?.reason,
            state: async () => [await outboxFingerprint(), await auditHead(null)],
          },
          {
            field: "id",
            carrier: "path",
            send: (v) => admin("POST", ops(`/outbox/${pct(v)}/cancel`), { reason: "poison id" }),
            state: async () => [await outboxFingerprint(), await auditHead(null)],
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
      // A GET that writes: the export is itself audited with the caller's reason.
      "GET /ops/api/v1/audit/export": {
        fields: [
          {
            field: "reason",
            carrier: "query",
            send: (v) => admin("GET", ops(`/audit/export?tenant=ex&reason=${pct(v)}`)),
            readBack: async () => lastReason("ex", "ex"),
            state: async () => auditHead("ex"),
          },
        ],
        clean: async () => cleanFlagWrite("mx.clean"),
      },
    };

    async function scheduled(key: string, what: "reason" | "value"): Promise<unknown> {
      const c = (await flagRec(key))?.config as { schedule?: Array<{ reason: string; patch: { value?: unknown } }> } | undefined;
      const last = c?.schedule?.at(-1);
      return what === "reason" ? last?.reason : last?.patch.value;
    }

    /** An outbox message: pending (the worker is stopped), or cancelled (so it can be resent). */
    async function newMessage(m: number, cancelled: boolean): Promise<string> {
      await t.service.notifier.enqueue({ id: `mx-${m}`, subject: `matrix ${m}`, body: "b", severity: "low" });
      const list = await t.service.notifier.list({ tenantId: null, status: "pending", limit: 1000, cursor: null });
      const msg = list.items.find((x) => x.idempotencyKey?.includes(`mx-${m}`) || x.payload?.id === `mx-${m}`) ?? list.items.at(-1)!;
      if (cancelled) await t.service.notifier.cancel({ messageId: msg.id, reason: "prepare" });
      return msg.id;
    }

    beforeAll(async () => {
      if (onPg) db = await freshDatabase();
      t = await startTestService(db ? { DATABASE_URL: db.url } : {});
      // Messages stay where the test puts them.
      await t.service.worker.stop();
      for (const key of ["mx.value", "mx.reason", "mx.enabled", "mx.rollout", "mx.schedule", "mx.unschedule", "mx.override", "mx.clean"])
        ok(await admin("PUT", ops(`/flags/${key}/value`), { value: "start", reason: "setup" }), `create ${key}`);
      // A global incident (its recommended flags are global), for apply-suggestion.
      ok(await admin("POST", "/api/ops/auth", { metrics: { failed_logins_1h: 5000, logins_1h: 5200 } }), "global incident");
      const id = (await t.service.storage.incidents.list({ tenantId: null, limit: 10, cursor: null })).items[0]!.id;
      const detail = ok(await admin("GET", ops(`/incidents/${id}`)), "incident detail").json;
      const rec = (detail.recommendedFlags as Array<{ key: string; appliesTo: string }>).find((f) => f.appliesTo === "global");
      if (rec) suggestion = { tenant: null, id, key: rec.key };
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it("has a spec for every write route the service serves (its own and the console's)", () => {
      const own = t.service.app.routes
        .filter((r) => r.method !== "ALL" && r.method !== "GET" && r.path.startsWith("/api/"))
        .map((r) => `${r.method} ${r.path}`);
      const consoleRoutes = t.service.console.routes.filter((r) => r.method !== "GET").map((r) => `${r.method} /ops${r.path}`);
      const writes = [...new Set([...own, ...consoleRoutes])];
      expect(writes.length).toBeGreaterThan(15);
      expect(writes.filter((w) => !specs[w])).toEqual([]);
      expect(suggestion, "an incident with a global recommendation").toBeDefined();
    });

    it("refuses with 400 naming the request's field and changes nothing, or stores byte-identical; clean writes behind stay on time", {
      timeout: 240_000,
    }, async () => {
      const failures: string[] = [];
      const leaks: string[] = [];
      const verdict = async (where: string, f: FieldCase, m: number, poison: string, r: Reply, before: unknown) => {
        const carrier = f.carrier ?? "body";
        if (r.status === 400) {
          const issues = (r.json?.issues ?? r.json?.error?.issues ?? []) as Array<{ path: string }>;
          if (!issues.some((i) => i.path === f.field))
            failures.push(`${where}: 400 without issues[].path "${f.field}": ${r.text.slice(0, 300)}`);
          const after = await f.state(m);
          if (JSON.stringify(after) !== JSON.stringify(before))
            failures.push(`${where}: refused but changed ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
        } else if (r.status >= 200 && r.status < 300) {
          if (f.readBack) {
            const expected = carrier === "body" ? poison : decoded(poison);
            const got = await f.readBack(poison, m);
            if (!stringIn(got) || got !== expected)
              failures.push(
                `${where}: ${r.status} but read back ${JSON.stringify(got)?.slice(0, 80)} (sent ${JSON.stringify(poison).slice(0, 40)})`,
              );
          }
        } else if ((r.status === 404 || r.status === 405 || r.status === 431) && carrier !== "body") {
          // A path segment naming no record, no decodable text or (empty) another route, or a URL
          // too long for the HTTP server (431, before the service sees it): nothing to change.
          const after = await f.state(m);
          if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${where}: 404 but changed`);
        } else failures.push(`${where}: ${r.status} ${r.text.slice(0, 300)}`);
      };
      for (const [route, spec] of Object.entries(specs)) {
        for (const f of spec.fields) {
          // Deferred routes (stored by the recorder): every poison with its clean write right
          // behind, then the clean writes are checked stored, then the poison answers.
          const pending: Array<{ where: string; m: number; poison: string; r: Reply; before: unknown; check: () => Promise<void> }> = [];
          for (const [label, poison] of POISONS) {
            const m = ++n;
            const where = `${route} ${f.field}=${label}`;
            try {
              await (f.prepare ?? spec.prepare)?.(m);
              const before = await f.state(m);
              const r = await f.send(poison, m);
              if (LEAK.test(r.text)) leaks.push(`${where}: ${r.text.slice(0, 200)}`);
              if (spec.deferred) pending.push({ where, m, poison, r, before, check: await spec.clean(m) });
              else {
                await verdict(where, f, m, poison, r, before);
                await (await spec.clean(m))();
              }
            } catch (err) {
              failures.push(`${where}: ${(err as Error).message.slice(0, 300)}`);
            }
          }
          for (const p of pending) {
            try {
              await p.check();
              await verdict(p.where, f, p.m, p.poison, p.r, p.before);
            } catch (err) {
              failures.push(`${p.where}: ${(err as Error).message.slice(0, 300)}`);
            }
          }
        }
      }
      if (leaks.length > 0 || failures.length > 0) console.log([...leaks, ...failures].join("\n"));
      expect(leaks).toEqual([]);
      expect(failures).toEqual([]);
    });

    it("leaves every flag version with exactly one FLAG_CHANGE entry, and every audit chain verifying", async () => {
      const tenants = new Set<string | null>([null]);
      const keys = new Map<string, Set<number>>();
      const flagsOf = async (tenantId: string | null) =>
        (await t.service.storage.flags.list({ env: env(), tenantId, limit: 1000, cursor: null })).items;
      for (const tenant of ["ot", "ou", "ex", ...[...incidentsByN.values()].map((x) => x.tenant)]) tenants.add(tenant);
      for (const tenant of tenants) {
        const entries = await auditOf(tenant);
        for (const e of entries.filter((x) => x.action === "FLAG_CHANGE")) {
          const meta = e.meta as { key: string; version: number };
          const id = `${tenant}/${meta.key}`;
          if (!keys.has(id)) keys.set(id, new Set());
          const versions = keys.get(id)!;
          // A deletion (version 0) ends the record's life; a new one starts again at version 1.
          if (meta.version === 0) versions.clear();
          else {
            expect(versions.has(meta.version), `${id} v${meta.version} has two FLAG_CHANGE entries`).toBe(false);
            versions.add(meta.version);
          }
        }
        for (const rec of (await flagsOf(tenant)).filter((x) => !x.key.startsWith("$"))) {
          const versions = [...(keys.get(`${tenant}/${rec.key}`) ?? [])].sort((a, b) => a - b);
          // Versions 1..current, each with exactly one entry.
          expect(versions, `${tenant}/${rec.key} at v${rec.version}`).toEqual(Array.from({ length: rec.version }, (_, i) => i + 1));
        }
        const v = await t.service.audit.verify({ tenantId: tenant });
        expect(v.ok, `audit chain of ${tenant ?? "global"}`).toBe(true);
      }
    });
  });
}

matrix("PGlite", false);
if (pgUp) matrix("PostgreSQL", true);
