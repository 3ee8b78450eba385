import {
  MAX_ACTIVE_HAVING,
  MAX_ACTIVE_KEYS,
  mapLimit,
  stableId,
  UnsupportedError,
  type CounterStore,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import type { ActiveCondition } from "@ops/core";
import { breachKey, eventKey } from "./recorder.js";

/**
 * One detection rule over the shared counters. A bucket is "bad" when its count reaches
 * `minCount`, and (with `ratio`) when count / total reaches `ratio` over at least `minVolume`
 * events, and (with `ewma`) when the count is `factor` times its EWMA baseline. The rule fires
 * when the last `consecutive` complete buckets are all bad and the long window agrees, or at once
 * when an identity threshold was crossed (`breaches`, read up to and including the current bucket).
 * A rule of one bucket on a count alone (no ratio, EWMA or long window) also reads the current
 * bucket: its count only grows, so reaching `minCount` there is final (tenant leaks fire at once).
 */
export interface DetectionRule {
  /** Unique rule id, part of the incident id. */
  id: string;
  incidentType: string;
  /** Event types counted (the numerator). */
  events: readonly string[];
  /** Event types of the denominator for `ratio` (include the numerator's types when they belong). */
  totalEvents?: readonly string[];
  /** Per-bucket floor of the numerator. */
  minCount: number;
  /** Per-bucket ratio numerator / denominator, 0..1. */
  ratio?: number;
  /** Per-bucket volume floor of the denominator: below it the ratio is not applied (the count decides). */
  minVolume?: number;
  /** Bad buckets in a row before firing (default 2). */
  consecutive?: number;
  /** Long window: the sum of the last `buckets` buckets must reach `minCount` too. */
  long?: { buckets: number; minCount: number };
  /** Baseline: count >= factor * max(EWMA of the previous `history` buckets, minBaseline). */
  ewma?: { alpha: number; factor: number; minBaseline: number; history: number };
  /** Identity-threshold crossings (see `IdentityRule`) fire this rule without waiting. Default true. */
  breaches?: boolean;
  scope?: "tenant" | "global" | "both";
  /** The metric name of the hourly count in the incident's snapshot, e.g. "failed_logins_1h". */
  metric: string;
  /** Severity guess (1..4) from the hourly count. */
  severity: (hourlyCount: number) => number;
}

const M = 60_000;

/**
 * Defaults for 1-minute buckets, grounded in the field: ratios with a volume floor, two consecutive
 * bad buckets (on synthetic failed-login days this cut false alerts from 125/200 to 2/200), a
 * 10-minute long window; tenant-leak signals fire on the first event.
 */
export const DEFAULT_DETECTION_RULES: readonly DetectionRule[] = Object.freeze([
  {
    id: "failed-logins",
    incidentType: "FAILED_LOGINS_SPIKE",
    events: ["LOGIN_FAILED"],
    totalEvents: ["LOGIN_FAILED", "LOGIN_SUCCEEDED"],
    minCount: 20,
    ratio: 0.5,
    minVolume: 30,
    long: { buckets: 10, minCount: 60 },
    metric: "failed_logins_1h",
    severity: (n) => (n >= 1000 ? 1 : 2),
  },
  {
    id: "password-reset-failures",
    incidentType: "PASSWORD_RESET_FAILURES",
    events: ["PASSWORD_RESET_FAILED"],
    totalEvents: ["PASSWORD_RESET_FAILED", "PASSWORD_RESET_REQUESTED"],
    minCount: 5,
    ratio: 0.3,
    minVolume: 10,
    metric: "password_reset_failures_1h",
    severity: (n) => (n >= 200 ? 2 : 3),
  },
  {
    id: "oauth-callback-errors",
    incidentType: "OAUTH_CALLBACK_ERRORS",
    events: ["OAUTH_CALLBACK_ERROR"],
    minCount: 5,
    metric: "oauth_callback_errors_1h",
    severity: () => 2,
  },
  {
    id: "jwt-validation-errors",
    incidentType: "JWT_VALIDATION_ERRORS",
    events: ["JWT_VALIDATION_ERROR"],
    minCount: 20,
    metric: "jwt_validation_errors_1h",
    severity: () => 2,
  },
  {
    id: "session-anomalies",
    incidentType: "SESSION_ANOMALIES",
    events: ["SESSION_ANOMALY"],
    minCount: 3,
    metric: "session_anomalies_1h",
    severity: () => 2,
  },
  {
    id: "tenant-leak",
    incidentType: "TENANT_LEAK_RISK",
    events: ["CROSS_TENANT_ACCESS"],
    minCount: 1,
    consecutive: 1,
    metric: "cross_tenant_access_attempts_1h",
    severity: () => 1,
  },
  {
    id: "admin-login-failures",
    incidentType: "SUSPICIOUS_ADMIN_LOGIN",
    events: ["ADMIN_LOGIN_FAILED"],
    minCount: 5,
    consecutive: 1,
    metric: "admin_login_failures_1h",
    severity: () => 2,
  },
  {
    id: "email-verification-failures",
    incidentType: "EMAIL_VERIFICATION_FAILURES",
    events: ["EMAIL_VERIFICATION_FAILED"],
    minCount: 10,
    metric: "email_verification_failures_1h",
    severity: () => 3,
  },
]);

/** What one rule saw for one scope at one evaluation. */
export interface Finding {
  ruleId: string;
  incidentType: string;
  tenantId: TenantKey;
  firing: boolean;
  /** Why it fired: "threshold" (bad buckets) or "identity" (an identity threshold crossed). */
  reason: "threshold" | "identity" | null;
  /** Stable per (type, scope, rule, window): evaluating the same window again gives the same id. */
  eventId: string;
  /** Start of the first evaluated bucket (the window), epoch ms. */
  windowStartMs: number;
  windowEndMs: number;
  /** The last complete buckets' counts, oldest first. */
  counts: number[];
  totals: number[] | null;
  baseline: number | null;
  hourlyCount: number;
  severityGuess: number;
  snapshot: Record<string, JsonValue>;
}

export interface EvaluateOptions {
  counters: CounterStore;
  rules?: readonly DetectionRule[];
  bucketMs?: number;
  /**
   * Scopes to evaluate: tenant ids and/or `null` (global); each gets a finding per rule. Omitted:
   * every scope with activity, found set-based with `CounterStore.readActive` (one call per tick,
   * whatever the number of tenants; idle tenants cost nothing and produce no finding).
   */
  scopes?: readonly TenantKey[];
  nowMs: number;
  /** Per-scope reads in flight at once when `scopes` is given (default 16). */
  concurrency?: number;
  /**
   * Set-based only: pass each rule's least condition to fire to `readActive` (`having`), so the
   * store returns only tenants that can fire a rule (SQL: `GROUP BY tenant ... HAVING`) and active
   * tenants far below every threshold cost no transfer. Their findings (all non-firing) are then
   * absent. Default true.
   */
  prefilter?: boolean;
}

/**
 * The least each rule needs to fire, as `readActive` conditions (a tenant meeting none cannot fire
 * any rule): an identity crossing in the breach window, `consecutive * minCount` events over the
 * last complete buckets, or (single-bucket count rules) `minCount` in the running bucket.
 * Undefined when a rule could fire without activity (a `minCount` below 1).
 */
export function firingConditions(rules: readonly DetectionRule[], bucketMs: number, end: number): ActiveCondition[] | undefined {
  const out: ActiveCondition[] = [];
  for (const rule of rules) {
    if (!(rule.minCount >= 1)) return undefined;
    if (rule.scope === "global") continue;
    const consecutive = rule.consecutive ?? 2;
    const events = rule.events.map(eventKey);
    if (rule.breaches !== false)
      out.push({ keys: [breachKey(rule.incidentType)], fromMs: end - consecutive * bucketMs, toMs: end + bucketMs, min: 1 });
    out.push({ keys: events, fromMs: end - consecutive * bucketMs, toMs: end, min: Math.ceil(consecutive * rule.minCount) });
    if (consecutive === 1 && rule.ratio === undefined && !rule.ewma && !rule.long)
      out.push({ keys: events, fromMs: end, toMs: end + bucketMs, min: Math.ceil(rule.minCount) });
  }
  return out.length > MAX_ACTIVE_HAVING ? undefined : out;
}

/** Counts by scope -> key -> bucket start, read once for all rules. */
type CountIndex = Map<TenantKey, Map<string, Map<number, number>>>;

function addTo(index: CountIndex, tenantId: TenantKey, key: string, buckets: ReadonlyArray<{ startMs: number; count: number }>) {
  let byKey = index.get(tenantId);
  if (!byKey) index.set(tenantId, (byKey = new Map()));
  let byStart = byKey.get(key);
  if (!byStart) byKey.set(key, (byStart = new Map()));
  for (const b of buckets) byStart.set(b.startMs, (byStart.get(b.startMs) ?? 0) + b.count);
}

function series(index: CountIndex, tenantId: TenantKey, keys: readonly string[], bucketMs: number, fromMs: number, toMs: number): number[] {
  const n = Math.round((toMs - fromMs) / bucketMs);
  const out = new Array<number>(n).fill(0);
  const byKey = index.get(tenantId);
  if (!byKey) return out;
  for (const key of keys) {
    const byStart = byKey.get(key);
    if (!byStart) continue;
    for (let i = 0; i < n; i++) out[i]! += byStart.get(fromMs + i * bucketMs) ?? 0;
  }
  return out;
}

const spanOf = (rule: DetectionRule, hour: number) =>
  Math.max(hour, (rule.consecutive ?? 2) + (rule.ewma?.history ?? 0), rule.long?.buckets ?? 0);

/** The keys a rule reads, and those whose activity can make it fire. */
function keysOf(rule: DetectionRule): { all: string[]; firing: string[] } {
  const firing = rule.events.map(eventKey);
  if (rule.breaches !== false) firing.push(breachKey(rule.incidentType));
  const all = [...firing, ...(rule.ratio !== undefined && rule.totalEvents ? rule.totalEvents.map(eventKey) : [])];
  return { all, firing };
}

/**
 * Evaluates every rule over complete buckets before `nowMs` (and the running bucket where a rule
 * says so). Without `scopes`, set-based: one `readActive` over the union of the rules' keys and
 * windows, then plain synchronous evaluation of the scopes that had activity.
 * @throws UnsupportedError without `scopes` when the store has no `readActive`.
 */
export async function evaluateRules(o: EvaluateOptions): Promise<Finding[]> {
  const bucketMs = o.bucketMs ?? M;
  const rules = o.rules ?? DEFAULT_DETECTION_RULES;
  const end = Math.floor(o.nowMs / bucketMs) * bucketMs; // exclusive: the current bucket is incomplete
  const hour = Math.max(1, Math.round(3_600_000 / bucketMs));
  if (rules.length === 0) return [];
  const keySet = new Set<string>();
  let span = 0;
  for (const rule of rules) {
    for (const k of keysOf(rule).all) keySet.add(k);
    span = Math.max(span, spanOf(rule, hour));
  }
  const fromMs = end - span * bucketMs;
  const toMs = end + bucketMs; // the running bucket too (breaches, single-bucket count rules)
  const keys = [...keySet];
  const index: CountIndex = new Map();
  let scopesOf: (rule: DetectionRule) => TenantKey[];
  if (o.scopes) {
    const scopes = [...new Set(o.scopes)];
    await mapLimit(scopes, o.concurrency ?? 16, async (tenantId) => {
      for (const key of keys) addTo(index, tenantId, key, await o.counters.read({ tenantId, key, bucketMs, fromMs, toMs }));
    });
    scopesOf = () => scopes;
  } else {
    if (!o.counters.readActive)
      throw new UnsupportedError("[ops/incidents] evaluateRules: scopes: expected a list of scopes, the counter store has no readActive");
    const having = o.prefilter === false || keys.length > MAX_ACTIVE_KEYS ? undefined : firingConditions(rules, bucketMs, end);
    for (let i = 0; i < keys.length; i += MAX_ACTIVE_KEYS) {
      const input = { keys: keys.slice(i, i + MAX_ACTIVE_KEYS), bucketMs, fromMs, toMs };
      for (const s of await o.counters.readActive(having && having.length > 0 ? { ...input, having } : input))
        addTo(index, s.tenantId, s.key, s.buckets);
    }
    scopesOf = (rule) => {
      const firing = keysOf(rule).firing;
      const out: TenantKey[] = [];
      for (const [t, byKey] of index) if (firing.some((k) => byKey.has(k))) out.push(t);
      return out;
    };
  }
  const out: Finding[] = [];
  for (const rule of rules) {
    const scope = rule.scope ?? "both";
    const scopes = scopesOf(rule);
    const tenants = scope === "global" ? [] : scopes.filter((t): t is string => t !== null);
    const perTenant = tenants.map((t) => evaluateOne(index, rule, t, bucketMs, end, hour));
    for (const f of perTenant) out.push(f.finding);
    if (scope === "tenant" || !scopes.includes(null)) continue;
    // The global scope sees what tenants alone do not: a spike spread thin over many of them.
    // Counts of tenants already firing for this rule are taken out, so one tenant's attack raises
    // (and mitigates) one tenant incident, not a global one too.
    const firing = perTenant.filter((f) => f.finding.firing);
    out.push(evaluateOne(index, rule, null, bucketMs, end, hour, firing).finding);
  }
  return out;
}

interface Evaluated {
  finding: Finding;
  num: number[];
  den: number[] | null;
  /** The current, incomplete bucket's count (single-bucket count rules only). */
  cur: number;
}

const minus = (a: number[], subtract: readonly Evaluated[], pick: (e: Evaluated) => number[] | null) => {
  const out = [...a];
  for (const e of subtract) {
    const b = pick(e);
    if (b) for (let i = 0; i < out.length; i++) out[i] = Math.max(0, out[i]! - (b[i] ?? 0));
  }
  return out;
};

function evaluateOne(
  index: CountIndex,
  rule: DetectionRule,
  tenantId: TenantKey,
  bucketMs: number,
  end: number,
  hour: number,
  subtract: readonly Evaluated[] = [],
): Evaluated {
  const consecutive = rule.consecutive ?? 2;
  const span = spanOf(rule, hour);
  const from = end - span * bucketMs;
  // A single-bucket rule on a count alone only grows within a bucket: once the running bucket
  // reaches the floor the result is final, so it fires at the next tick, not after the minute.
  const early = consecutive === 1 && rule.ratio === undefined && !rule.ewma && !rule.long;
  const rawNum = series(index, tenantId, rule.events.map(eventKey), bucketMs, from, end);
  const rawDen =
    rule.ratio !== undefined && rule.totalEvents ? series(index, tenantId, rule.totalEvents.map(eventKey), bucketMs, from, end) : null;
  // Breaches include the current, incomplete bucket: a crossing is an exact event, not a partial
  // rate, so the incident is raised at the next tick instead of after the bucket ends.
  const breaches =
    rule.breaches === false
      ? null
      : series(index, tenantId, [breachKey(rule.incidentType)], bucketMs, end - consecutive * bucketMs, end + bucketMs);
  const rawCur =
    early || rule.breaches !== false ? series(index, tenantId, rule.events.map(eventKey), bucketMs, end, end + bucketMs) : null;
  const cur = rawCur
    ? Math.max(
        0,
        subtract.reduce((c, e) => c - e.cur, rawCur[0] ?? 0),
      )
    : 0;
  const num = minus(rawNum, subtract, (e) => e.num);
  const den = rawDen ? minus(rawDen, subtract, (e) => e.den) : null;
  const last = num.slice(-consecutive);
  const lastTotals = den ? den.slice(-consecutive) : null;
  let baseline: number | null = null;
  if (rule.ewma) {
    const hist = num.slice(-(consecutive + rule.ewma.history), -consecutive);
    for (const x of hist) baseline = baseline === null ? x : rule.ewma.alpha * x + (1 - rule.ewma.alpha) * baseline;
    baseline ??= 0;
  }
  const bad = (i: number): boolean => {
    const c = last[i]!;
    if (c < rule.minCount) return false;
    if (rule.ratio !== undefined && lastTotals) {
      const t = lastTotals[i]!;
      // Below the volume floor a ratio means little: the count threshold alone decides there.
      if (t >= (rule.minVolume ?? 0) && c / t < rule.ratio) return false;
    }
    if (rule.ewma && c < rule.ewma.factor * Math.max(baseline ?? 0, rule.ewma.minBaseline)) return false;
    return true;
  };
  let thresholdFiring = last.length === consecutive && last.every((_, i) => bad(i));
  if (thresholdFiring && rule.long) {
    const longSum = num.slice(-rule.long.buckets).reduce((s, x) => s + x, 0);
    thresholdFiring = longSum >= rule.long.minCount;
  }
  // The running bucket becomes the window; once complete it is the same window (same event id).
  const currentFiring = early && !thresholdFiring && cur >= rule.minCount;
  if (currentFiring) thresholdFiring = true;
  const identityFiring = breaches ? breaches.some((x) => x > 0) : false;
  const firing = thresholdFiring || identityFiring;
  let windowEnd = currentFiring ? end + bucketMs : end;
  // An identity crossing alone: the window ends with the bucket of the latest crossing (possibly the
  // running one). The event id then stays the same while that crossing is in range, so a resolved
  // incident is not raised again for it, and the snapshot and offenders cover the crossing.
  const identityOnly = identityFiring && !thresholdFiring;
  if (identityOnly) {
    let lastBreach = -1;
    breaches!.forEach((x, i) => {
      if (x > 0) lastBreach = i;
    });
    windowEnd = end - consecutive * bucketMs + (lastBreach + 1) * bucketMs;
  }
  const windowStartMs = windowEnd - consecutive * bucketMs;
  const countAt = (startMs: number) => (startMs >= end ? cur : (num[Math.round((startMs - from) / bucketMs)] ?? 0));
  const windowCounts = currentFiring
    ? [cur]
    : identityOnly
      ? Array.from({ length: consecutive }, (_, i) => countAt(windowStartMs + i * bucketMs))
      : last;
  const hourlyCount = num.slice(-hour).reduce((s, x) => s + x, 0) + (windowEnd > end ? cur : 0);
  const snapshot: Record<string, JsonValue> = {
    [rule.metric]: hourlyCount,
    bucket_ms: bucketMs,
    window_start: new Date(windowStartMs).toISOString(),
    window_counts: windowCounts,
    rule: rule.id,
  };
  if (lastTotals) snapshot.window_totals = lastTotals;
  if (baseline !== null) snapshot.baseline = Math.round(baseline * 100) / 100;
  if (identityFiring) snapshot.identity_threshold_crossings = breaches!.reduce((s, x) => s + x, 0);
  const finding: Finding = {
    ruleId: rule.id,
    incidentType: rule.incidentType,
    tenantId,
    firing,
    reason: thresholdFiring ? "threshold" : identityFiring ? "identity" : null,
    eventId: `evt_${stableId("detect", rule.incidentType, tenantId, rule.id, windowStartMs, bucketMs)}`,
    windowStartMs,
    windowEndMs: windowEnd,
    counts: windowCounts,
    totals: lastTotals,
    baseline,
    hourlyCount,
    severityGuess: rule.severity(hourlyCount),
    snapshot,
  };
  return { finding, num: rawNum, den: rawDen, cur: rawCur?.[0] ?? 0 };
}
