import { sortableId, type AuthEventRecord, type CounterStore, type TenantKey } from "@ops/core";

/**
 * Counts failures per identity (user+IP, IP or user) in a sliding window over the shared counters;
 * crossing `threshold` raises the rule's incident at the next detection (Auth0 blocks after 10
 * failures per user+IP; fail2ban bans after 5 failures in 10 minutes).
 */
export interface IdentityRule {
  id: string;
  eventType: string;
  by: "user+ip" | "ip" | "user";
  threshold: number;
  /** Window length in buckets (10 one-minute buckets = 10 minutes). */
  windowBuckets: number;
  incidentType: string;
}

export const DEFAULT_IDENTITY_RULES: readonly IdentityRule[] = Object.freeze([
  { id: "login-user-ip", eventType: "LOGIN_FAILED", by: "user+ip", threshold: 10, windowBuckets: 10, incidentType: "FAILED_LOGINS_SPIKE" },
  { id: "admin-ip", eventType: "ADMIN_LOGIN_FAILED", by: "ip", threshold: 5, windowBuckets: 10, incidentType: "SUSPICIOUS_ADMIN_LOGIN" },
]);

/** The event type written when an identity crosses its threshold. */
export const THRESHOLD_EVENT = "THRESHOLD_EXCEEDED";
/** Counter key of events of a type: `ev:<TYPE>`. */
export const eventKey = (type: string) => `ev:${type}`;
/** Counter key of identity-threshold crossings raising `incidentType`. */
export const breachKey = (incidentType: string) => `breach:${incidentType}`;

/** Counts of one (bucket, tenant, type), with the identity rules of the type and their counts. */
export interface TypeCell {
  n: number;
  rules: readonly IdentityRule[] | undefined;
  /** Per rule: first key -> cell of second keys ("" for one-part identities). */
  ids: Array<Map<string, IdCell>> | undefined;
}

/** Per-identity counts of one rule: most users come from one IP, so the first pair is inline. */
export interface IdCell {
  b: string;
  n: number;
  more: Map<string, number> | undefined;
}

/** Counts one signal for every identity rule of its type (hot path: two map operations per rule). */
export function countIdentities(cell: TypeCell, rules: readonly IdentityRule[], userId?: string, ip?: string): void {
  const ids = (cell.ids ??= rules.map(() => new Map<string, IdCell>()));
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    // Keyed by the caller's own strings (no concatenation: their hashes stay cached).
    let a: string | undefined;
    let b = "";
    if (rule.by === "user+ip") {
      if (!userId || !ip) continue;
      a = userId;
      b = ip;
    } else a = rule.by === "ip" ? ip : userId;
    if (!a) continue;
    const firsts = ids[i]!;
    const c = firsts.get(a);
    if (c === undefined) firsts.set(a, { b, n: 1, more: undefined });
    else if (c.b === b) c.n++;
    else {
      c.more ??= new Map();
      c.more.set(b, (c.more.get(b) ?? 0) + 1);
    }
  }
}

/**
 * Adds an identity's count to the shared windowed counter; when this add crosses the rule's
 * threshold, records a breach for the detection rules and a THRESHOLD_EXCEEDED event.
 */
export async function addIdentity(
  counters: CounterStore,
  bucketMs: number,
  ttlMs: number,
  rule: IdentityRule,
  tenant: TenantKey,
  bucket: number,
  a: string,
  b: string,
  n: number,
  now: number,
  crossings: AuthEventRecord[],
): Promise<void> {
  const total = await counters.increment({
    tenantId: tenant,
    key: `id:${rule.id}:${rule.by === "user+ip" ? `${a}|${b}` : a}`,
    atMs: bucket,
    bucketMs: bucketMs,
    by: n,
    windowBuckets: rule.windowBuckets,
    ttlMs: ttlMs,
    // One series per user and IP: read by key at the crossing, never listed by detection.
    untracked: true,
  });
  // Exactly one increment sees the crossing, however many instances share the counter.
  if (!(total >= rule.threshold && total - n < rule.threshold)) return;
  const add = (t: TenantKey) =>
    counters.increment({ tenantId: t, key: breachKey(rule.incidentType), atMs: bucket, bucketMs: bucketMs, ttlMs: ttlMs });
  // Tenant crossings stay in the tenant's scope; the global scope counts untenanted ones.
  await add(tenant);
  const rec: AuthEventRecord = {
    id: `ae_${sortableId(now)}_x${crossings.length}`,
    type: THRESHOLD_EVENT,
    occurredAt: new Date(bucket).toISOString(),
    tenantId: tenant,
    meta: { rule: rule.id, eventType: rule.eventType, count: total, threshold: rule.threshold, incidentType: rule.incidentType },
  };
  if (rule.by === "user+ip") {
    rec.userId = a;
    rec.ip = b;
  } else if (rule.by === "ip") rec.ip = a;
  else rec.userId = a;
  crossings.push(rec);
}
