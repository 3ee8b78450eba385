import { ValidationError } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/** What a pending effect does once its state change has committed. */
export const EFFECT_KINDS = ["audit", "notify"] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

/**
 * A side effect of a state change, stored in the same atomic write as the change (a
 * transactional outbox): an audit entry (`kind: "audit"`, `payload` an `AuditSinkEntry`) or a
 * notification intent (`kind: "notify"`, `payload` an `AdminNotification`). The effect relay
 * (`createEffectRelay`) delivers it after the commit and removes it; `id` makes the delivery
 * idempotent (a relay that crashes after delivering and retries does not deliver twice).
 */
export interface PendingEffect {
  /** Unique, caller-made (`prefixedId("eff")`); the audit entry carries it as `meta.effectId`, a notification as its `id`. */
  id: string;
  tenantId: TenantKey;
  kind: EffectKind;
  payload: JsonObject;
  /** ISO-8601 UTC with milliseconds, set by the caller. */
  createdAt: string;
}

/** A stored effect waiting for the relay. */
export interface EffectRecord extends PendingEffect {
  /** Deliveries started (`claim` increments it): above 1, an earlier attempt may have delivered. */
  attempts: number;
  /** Not claimable again before this time (a live lease or a backoff); null when free. */
  leaseUntil: string | null;
  lastError: string | null;
}

/**
 * The durable queue of pending effects written by `FlagStore.put/delete` and
 * `IncidentStore.create/update` when they are given `effects`: an effect exists exactly when its
 * state change committed (same transaction, same Lua script, same synchronous step in memory).
 * Effects of all tenants share one queue (the relay is a system process).
 *
 * Concurrency: `claim` never hands an effect to two relays while a lease is live (SQL: `FOR UPDATE
 * SKIP LOCKED`); a relay that dies leaves the lease to expire and the effect is handed out again
 * (at least once; the relay's effect-id check makes the result exactly once).
 */
export interface EffectStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Leases up to `limit` (1..1000) effects whose lease is absent or expired (`leaseUntil <= now`)
   * until `now + leaseMs`, incrementing `attempts`; oldest `createdAt` first (ties by id). With
   * `ids`, only those effects (the relay's "deliver what I just committed" path); with `kinds`,
   * only effects of those kinds (a relay claims only what it has a sink for).
   * @throws ValidationError on a bad limit, leaseMs or now.
   */
  claim(input: {
    limit: number;
    leaseMs: number;
    now: string;
    ids?: readonly string[];
    kinds?: readonly EffectKind[];
  }): Promise<EffectRecord[]>;
  /** Removes a delivered effect. Idempotent: an absent id is not an error. */
  complete(input: { id: string }): Promise<void>;
  /** Records a failed delivery: the lease becomes `retryAt` (the next attempt's time) and `lastError` the reason. No-op when absent. */
  fail(input: { id: string; error: string; retryAt: string }): Promise<void>;
  /** How many effects wait (leased or not). */
  pending(): Promise<number>;
}

const MAX_EFFECT_BYTES = 256 * 1024;

function badText(s: string): string | null {
  if (s.includes("\u0000")) return "expected no NUL characters";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return "expected no unpaired surrogates";
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return "expected no unpaired surrogates";
  }
  return null;
}

function walk(v: unknown, path: string, depth: number): { path: string; message: string } | null {
  if (depth > 64) return { path, message: "expected at most 64 levels of nesting" };
  if (typeof v === "string") {
    const m = badText(v);
    return m ? { path, message: m } : null;
  }
  if (v === null || typeof v === "boolean") return null;
  if (typeof v === "number") return Number.isFinite(v) ? null : { path, message: "expected a finite number" };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = walk(v[i], `${path}[${i}]`, depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  if (typeof v === "object") {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const km = badText(k);
      if (km) return { path: `${path}.${k}`, message: `key: ${km}` };
      if (x === undefined) continue;
      const bad = walk(x, `${path}.${k}`, depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  return { path, message: "expected a JSON value" };
}

/**
 * Checks effects before the write that carries them (stores call it first, so a bad effect
 * writes nothing): non-empty ids unique within the call, a known kind, an ISO time, a JSON object
 * payload of storable text (no NUL, no unpaired surrogate) of at most 256 KiB.
 * @throws ValidationError naming `effects[i].<field>`
 */
export function checkEffects(pkg: string, effects: readonly PendingEffect[] | undefined): void {
  if (effects === undefined) return;
  const fail = (path: string, message: string) => {
    throw new ValidationError(`[ops/${pkg}] invalid ${path}: ${message}`, [{ path, message }]);
  };
  if (!Array.isArray(effects)) fail("effects", "expected an array");
  if (effects.length > 100) fail("effects", "expected at most 100 effects per write");
  const ids = new Set<string>();
  effects.forEach((e, i) => {
    const at = `effects[${i}]`;
    if (typeof e !== "object" || e === null) return fail(at, "expected an object");
    if (typeof e.id !== "string" || e.id.length === 0 || e.id.length > 200 || badText(e.id)) fail(`${at}.id`, "expected 1..200 characters");
    if (ids.has(e.id)) fail(`${at}.id`, "expected ids unique within one write");
    ids.add(e.id);
    if (!(EFFECT_KINDS as readonly string[]).includes(e.kind)) fail(`${at}.kind`, `expected one of ${EFFECT_KINDS.join(", ")}`);
    if (e.tenantId !== null && (typeof e.tenantId !== "string" || e.tenantId.length === 0 || badText(e.tenantId)))
      fail(`${at}.tenantId`, "expected a tenant id or null");
    if (typeof e.createdAt !== "string" || Number.isNaN(Date.parse(e.createdAt))) fail(`${at}.createdAt`, "expected an ISO 8601 time");
    if (typeof e.payload !== "object" || e.payload === null || Array.isArray(e.payload)) fail(`${at}.payload`, "expected a JSON object");
    const bad = walk(e.payload, `${at}.payload`, 0);
    if (bad) fail(bad.path, bad.message);
    if (Buffer.byteLength(JSON.stringify(e.payload)) > MAX_EFFECT_BYTES) fail(`${at}.payload`, "expected at most 256 KiB of JSON");
  });
}
