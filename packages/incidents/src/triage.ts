import {
  AUTH_INCIDENT_TYPES,
  ConflictError,
  systemClock,
  ValidationError,
  type Clock,
  type IncidentRecord,
  type IncidentStore,
  type JsonObject,
  type Severity,
  type TenantKey,
} from "@ops/core";
import { dataOf } from "./incident-data.js";

export const TRIAGE_FEATURES = [
  "bias",
  "severity",
  "magnitude",
  "vs_baseline",
  "tenants_affected",
  "admin_involved",
  "occurrences",
  ...AUTH_INCIDENT_TYPES.map((t) => `type:${t}`),
] as const;
export type TriageFeature = (typeof TRIAGE_FEATURES)[number];

/**
 * The rule-based prior: severity, size and admin/tenant involvement push an incident up. It is the
 * model until enough labels exist, and the centre the trained weights are regularised towards.
 */
export const PRIOR_WEIGHTS: Readonly<Record<TriageFeature, number>> = Object.freeze(
  Object.fromEntries(
    TRIAGE_FEATURES.map((f) => [
      f,
      (
        { bias: -2, severity: 3, magnitude: 0.8, vs_baseline: 0.6, tenants_affected: 0.8, admin_involved: 1.5, occurrences: 0.5 } as Record<
          string,
          number
        >
      )[f] ?? 0,
    ]),
  ) as Record<TriageFeature, number>,
);

const SEVERITY_VALUE: Record<Severity, number> = { critical: 1, high: 0.75, medium: 0.5, low: 0.25, info: 0 };

export type TriageOutcome = "actioned" | "false_alarm";

export interface TriageOptions {
  store: IncidentStore;
  /** Whose model: `null` (default) is one model for the whole app. */
  tenantId?: TenantKey;
  /** Labels needed (with both outcomes present) before the trained model replaces the prior. Default 20. */
  minLabels?: number;
  /** L2 strength pulling weights to the prior. Default 1. */
  lambda?: number;
  /** Labels kept (most recent). Default 5000. */
  maxLabels?: number;
  clock?: Clock;
}

export interface TriageScore {
  incident: IncidentRecord;
  /** Probability the incident will be acted on (not a false alarm), 0..1. */
  score: number;
  source: "prior" | "model";
}

export interface TriageExplanation extends Omit<TriageScore, "incident"> {
  /** Largest contributions first (weight x value, in log-odds). */
  contributions: Array<{ feature: TriageFeature; value: number; weight: number; contribution: number }>;
}

interface ModelDoc {
  weights: Record<string, number>;
  source: "prior" | "model";
  labels: Array<{ id: string; x: Record<string, number>; y: 0 | 1 }>;
  trainedAt: string | null;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function magnitudeOf(snapshot: Record<string, unknown>): number {
  let best = 0;
  for (const [k, v] of Object.entries(snapshot)) if (k.endsWith("_1h") && typeof v === "number" && v > best) best = v;
  return best;
}

/**
 * Ranks open incidents by how likely they are to need action. A rule-based prior until enough
 * labelled outcomes exist, then an L2-regularised logistic regression (trained by deterministic
 * full-batch gradient descent, pulled towards the prior) persisted in the IncidentStore. It orders;
 * it never drops or hides an incident.
 */
export class Triage {
  private readonly store: IncidentStore;
  private readonly tenantId: TenantKey;
  private readonly minLabels: number;
  private readonly lambda: number;
  private readonly maxLabels: number;
  private readonly clock: Clock;

  constructor(o: TriageOptions) {
    this.store = o.store;
    this.tenantId = o.tenantId ?? null;
    this.minLabels = o.minLabels ?? 20;
    this.lambda = o.lambda ?? 1;
    this.maxLabels = o.maxLabels ?? 5000;
    this.clock = o.clock ?? systemClock;
  }

  /** The feature vector of an incident; `peers` (other active incidents) count tenants affected. */
  features(incident: IncidentRecord, peers: readonly IncidentRecord[] = []): Record<TriageFeature, number> {
    const d = dataOf(incident);
    const snap = (d.event?.metrics_snapshot ?? {}) as Record<string, unknown>;
    const mag = magnitudeOf(snap);
    const baseline = typeof snap.baseline === "number" ? snap.baseline : null;
    const counts = Array.isArray(snap.window_counts) ? (snap.window_counts as number[]) : [];
    const recent = counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0;
    const tenants = new Set(peers.filter((p) => p.type === incident.type).map((p) => p.tenantId));
    tenants.add(incident.tenantId);
    const x = Object.fromEntries(TRIAGE_FEATURES.map((f) => [f, 0])) as Record<TriageFeature, number>;
    x.bias = 1;
    x.severity = SEVERITY_VALUE[incident.severity];
    x.magnitude = Math.min(2, Math.log10(1 + mag) / 2);
    x.vs_baseline = baseline !== null ? Math.min(3, Math.log2(1 + recent / Math.max(1, baseline)) / 2) : 0;
    x.tenants_affected = incident.tenantId === null ? 1 : Math.min(2, Math.log10(tenants.size));
    x.admin_involved = /ADMIN|TENANT_LEAK/.test(incident.type) ? 1 : 0;
    x.occurrences = Math.min(2, Math.log10(1 + (d.occurrences ?? 1)));
    const typeFeature = `type:${incident.type}` as TriageFeature;
    if (typeFeature in x) x[typeFeature] = 1;
    return x;
  }

  /**
   * Records the outcome of an incident as a training label (replacing an earlier label of it).
   * @throws ValidationError on an unknown outcome.
   */
  async label(input: { incident: IncidentRecord; outcome: TriageOutcome; peers?: readonly IncidentRecord[] }): Promise<void> {
    if (input.outcome !== "actioned" && input.outcome !== "false_alarm")
      throw new ValidationError(`[ops/incidents] invalid triage label: outcome: expected "actioned" or "false_alarm"`, [
        { path: "outcome", message: 'expected "actioned" or "false_alarm"' },
      ]);
    const x = this.features(input.incident, input.peers);
    await this.write((doc) => ({
      ...doc,
      labels: [
        ...doc.labels.filter((l) => l.id !== input.incident.id),
        { id: input.incident.id, x, y: (input.outcome === "actioned" ? 1 : 0) as 0 | 1 },
      ].slice(-this.maxLabels),
    }));
  }

  /** Trains on the stored labels and persists the weights (the prior while labels are too few). */
  async train(): Promise<{ source: "prior" | "model"; labels: number }> {
    let out: { source: "prior" | "model"; labels: number } = { source: "prior", labels: 0 };
    await this.write((doc) => {
      const ys = new Set(doc.labels.map((l) => l.y));
      const enough = doc.labels.length >= this.minLabels && ys.size === 2;
      const weights = enough ? this.fit(doc.labels) : { ...PRIOR_WEIGHTS };
      out = { source: enough ? "model" : "prior", labels: doc.labels.length };
      return { ...doc, weights, source: out.source, trainedAt: new Date(this.clock.now()).toISOString() };
    });
    return out;
  }

  /** Scores and orders incidents, most urgent first; ties keep the older first. Returns every incident given. */
  async rank(incidents: readonly IncidentRecord[]): Promise<TriageScore[]> {
    const doc = await this.read();
    return incidents
      .map((incident) => ({ incident, score: this.p(doc.weights, this.features(incident, incidents)), source: doc.source }))
      .sort(
        (a, b) => b.score - a.score || a.incident.openedAt.localeCompare(b.incident.openedAt) || a.incident.id.localeCompare(b.incident.id),
      );
  }

  /** Why an incident scores as it does: its largest contributions, in log-odds. */
  async explain(incident: IncidentRecord, peers: readonly IncidentRecord[] = [], top = 5): Promise<TriageExplanation> {
    const doc = await this.read();
    const x = this.features(incident, peers);
    const contributions = TRIAGE_FEATURES.map((feature) => ({
      feature,
      value: x[feature] ?? 0,
      weight: doc.weights[feature] ?? 0,
      contribution: (x[feature] ?? 0) * (doc.weights[feature] ?? 0),
    }))
      .filter((c) => c.contribution !== 0)
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.feature.localeCompare(b.feature))
      .slice(0, top);
    return { score: this.p(doc.weights, x), source: doc.source, contributions };
  }

  private p(w: Record<string, number>, x: Record<string, number>): number {
    let z = 0;
    for (const f of TRIAGE_FEATURES) z += (w[f] ?? 0) * (x[f] ?? 0);
    return sigmoid(z);
  }

  /** MAP logistic regression: log-loss + lambda/2 * ||w - prior||^2, full-batch gradient descent. */
  private fit(labels: ModelDoc["labels"]): Record<string, number> {
    const w: Record<string, number> = { ...PRIOR_WEIGHTS };
    const n = labels.length;
    const lr = 0.5;
    for (let iter = 0; iter < 2000; iter++) {
      const g: Record<string, number> = Object.fromEntries(TRIAGE_FEATURES.map((f) => [f, 0]));
      for (const l of labels) {
        const err = this.p(w, l.x) - l.y;
        for (const f of TRIAGE_FEATURES) g[f]! += err * (l.x[f] ?? 0);
      }
      for (const f of TRIAGE_FEATURES) {
        const reg = f === "bias" ? 0 : this.lambda * (w[f]! - (PRIOR_WEIGHTS[f] ?? 0));
        w[f] = w[f]! - (lr * (g[f]! + reg)) / n;
      }
    }
    for (const f of TRIAGE_FEATURES) w[f] = Math.round(w[f]! * 1e6) / 1e6;
    return w;
  }

  private async read(): Promise<ModelDoc> {
    const rec = await this.store.getModel({ tenantId: this.tenantId, name: "triage" });
    return rec ? (rec.model as unknown as ModelDoc) : { weights: { ...PRIOR_WEIGHTS }, source: "prior", labels: [], trainedAt: null };
  }

  private async write(fn: (doc: ModelDoc) => ModelDoc): Promise<void> {
    for (;;) {
      const rec = await this.store.getModel({ tenantId: this.tenantId, name: "triage" });
      const doc = rec
        ? (rec.model as unknown as ModelDoc)
        : { weights: { ...PRIOR_WEIGHTS }, source: "prior" as const, labels: [], trainedAt: null };
      try {
        await this.store.putModel({
          tenantId: this.tenantId,
          name: "triage",
          model: fn(doc) as unknown as JsonObject,
          expectedVersion: rec?.version ?? null,
          updatedAt: new Date(this.clock.now()).toISOString(),
        });
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }
}

/** Creates a `Triage` (see its JSDoc). */
export function createTriage(options: TriageOptions): Triage {
  return new Triage(options);
}
