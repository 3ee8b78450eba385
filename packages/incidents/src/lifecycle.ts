import {
  checkStorableFields,
  ConflictError,
  NotFoundError,
  stableId,
  systemClock,
  auditEffect,
  createEffectRelay,
  severityRank,
  type AuditSink,
  type EffectRelay,
  type EffectStore,
  type Notifier,
  type PendingEffect,
  type AuditSinkEntry,
  type JsonObject,
  type Clock,
  type IncidentRecord,
  type IncidentState,
  type IncidentStore,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import { dataOf, toJson, type IncidentData } from "./incident-data.js";
import { AuditRecordInputSchema, checkInput, RaiseInputSchema, TransitionInputSchema } from "./inputs.js";
import type { SpineEvent, SpineResponse } from "./types.js";

/** The actor the runtime acts as (flag flips, auto-resolve). */
export const SPINE_ACTOR = "ops-spine";

const ALLOWED: Record<IncidentState, readonly IncidentState[]> = {
  open: ["acknowledged", "mitigated", "resolved"],
  acknowledged: ["mitigated", "resolved"],
  mitigated: ["resolved"],
  resolved: [],
};

const AUDIT_ACTION: Record<IncidentState, string> = {
  open: "INCIDENT_OPENED",
  acknowledged: "INCIDENT_ACKNOWLEDGED",
  mitigated: "INCIDENT_MITIGATED",
  resolved: "INCIDENT_RESOLVED",
};

export interface IncidentManagerOptions {
  store: IncidentStore;
  audit?: AuditSink;
  clock?: Clock;
  /** Fields grouping incidents into one notification (Alertmanager's group_by). Default ["tenantId"]. */
  groupBy?: ReadonlyArray<"tenantId" | "type" | "severity">;
  /** Told when an audit write fails (the entry is kept and retried by `retryPendingAudits`, or by the relay). */
  onAuditError?: (err: unknown) => void;
  /**
   * The transactional outbox of the store's backend (`stores.effects`, with the incident store's
   * `capabilities.effects`). With it, each lifecycle transition stores its audit entry, and each
   * notification claim its notification, IN THE SAME write as the incident; a relay delivers them
   * after the commit and, for leftovers of a crash, on every `relay.drain()` (the runtime's tick).
   */
  effects?: EffectStore;
  /** Where the relay sends notification effects (with `effects`). */
  notifier?: Notifier;
}

const PENDING_AUDITS = "audit-pending";

/** Fingerprint: one active incident per (type, scope). */
export function fingerprintOf(type: string, tenantId: TenantKey): string {
  return `fp_${stableId("incident", type, tenantId)}`;
}

/**
 * Incident lifecycle over an `IncidentStore`: raise with fingerprint dedupe, transitions
 * open -> acknowledged -> mitigated -> resolved, each stored with compare-and-set and audited
 * through the `AuditSink` port.
 */
export class IncidentManager {
  readonly store: IncidentStore;
  private readonly audit: AuditSink | undefined;
  private readonly clock: Clock;
  private readonly groupBy: ReadonlyArray<"tenantId" | "type" | "severity">;
  private readonly onAuditError: (err: unknown) => void;
  /** Delivers the effects committed with incident writes (present with `effects`). */
  readonly relay: EffectRelay | null;

  constructor(o: IncidentManagerOptions) {
    this.store = o.store;
    this.audit = o.audit;
    this.clock = o.clock ?? systemClock;
    this.groupBy = o.groupBy ?? ["tenantId"];
    this.onAuditError = o.onAuditError ?? (() => {});
    this.relay =
      o.effects && this.store.capabilities.effects
        ? createEffectRelay({
            store: o.effects,
            ...(o.audit ? { audit: o.audit } : {}),
            ...(o.notifier ? { notifier: o.notifier } : {}),
            clock: this.clock,
            onError: (err) => this.onAuditError(err),
          })
        : null;
  }

  /** Whether writes carry their effects (transactional outbox) instead of calling the sinks inline. */
  get outboxed(): boolean {
    return this.relay !== null;
  }

  /** The audit effect of a transition, when audits go through the outbox. */
  private transitionEffects(
    incident: Omit<IncidentRecord, "version">,
    from: IncidentState | null,
    to: IncidentState,
    actor: string,
    reason?: string,
  ): PendingEffect[] {
    if (!this.relay || !this.audit) return [];
    return [
      auditEffect(this.entryOf(AUDIT_ACTION[to], incident, actor, reason, { from, to, fingerprint: incident.fingerprint }), this.now()),
    ];
  }

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  groupKeyOf(type: string, tenantId: TenantKey, severity: string): string {
    const parts = this.groupBy.map((f) =>
      f === "tenantId" ? `tenant=${tenantId ?? "*"}` : f === "type" ? `type=${type}` : `severity=${severity}`,
    );
    return parts.join(",") || "all";
  }

  /**
   * Raises an incident for `event` or, when one with its fingerprint is active, records another
   * occurrence on it (severity only ever escalates). Safe under concurrency: however many
   * instances raise the same event, one incident exists and one INCIDENT_OPENED is audited.
   */
  async raise(
    event: SpineEvent,
    response: SpineResponse,
    o: { source?: "detection" | "manual"; title?: string } = {},
  ): Promise<{ incident: IncidentRecord; created: boolean }> {
    checkInput(RaiseInputSchema, { event, response, title: o.title, source: o.source }, "incident");
    checkStorableFields(
      { event: [event, "json"], response: [response, "json"], title: [o.title, "text"] },
      { pkg: "incidents", what: "incident" },
    );
    const tenantId = event.tenant_id ?? null;
    const fingerprint = fingerprintOf(event.incident_type, tenantId);
    const id = `inc_${stableId(event.event_id, tenantId)}`;
    for (let attempt = 0; attempt < 8; attempt++) {
      const now = this.now();
      const active = await this.store.findActive({ tenantId, fingerprint });
      if (active) {
        const d = dataOf(active);
        if (d.event.event_id === event.event_id) return { incident: active, created: false };
        const severity = severityRank(response.severity) < severityRank(active.severity) ? response.severity : active.severity;
        const next: IncidentData = { ...d, occurrences: d.occurrences + 1, lastSeenAt: now, event, response: { ...response, severity } };
        try {
          const updated = await this.store.update({
            tenantId,
            id: active.id,
            expectedVersion: active.version,
            patch: { severity, updatedAt: now, data: toJson(next) },
          });
          return { incident: updated, created: false };
        } catch (err) {
          if (err instanceof ConflictError || err instanceof NotFoundError) continue;
          throw err;
        }
      }
      const existing = await this.store.get({ tenantId, id });
      // The same window raised before and already resolved: never raise it twice.
      if (existing) return { incident: existing, created: false };
      const data: IncidentData = {
        source: o.source ?? "manual",
        event,
        response,
        occurrences: 1,
        firstSeenAt: now,
        lastSeenAt: now,
        groupKey: this.groupKeyOf(event.incident_type, tenantId, response.severity),
        history: [{ from: null, to: "open", at: now, actor: SPINE_ACTOR }],
      };
      let incident: IncidentRecord;
      const record = {
        id,
        tenantId,
        fingerprint,
        type: event.incident_type,
        severity: response.severity,
        state: "open" as const,
        title: o.title ?? response.runbook.title,
        openedAt: now,
        updatedAt: now,
        data: toJson(data),
      };
      const effects = this.transitionEffects(record, null, "open", SPINE_ACTOR, response.decision);
      try {
        incident = await this.store.create({ record, ...(effects.length > 0 ? { effects } : {}) });
      } catch (err) {
        if (err instanceof ConflictError) continue; // another instance won: re-read and join it
        throw err;
      }
      if (effects.length > 0) await this.relay!.deliver(effects.map((e) => e.id));
      else await this.auditTransition(incident, null, "open", SPINE_ACTOR, response.decision);
      return { incident, created: true };
    }
    throw new ConflictError(`[ops/incidents] could not raise ${event.incident_type}: too much contention on fingerprint ${fingerprint}`);
  }

  /**
   * Moves an incident to `to` with compare-and-set (retrying on a lost race) and audits it.
   * @throws NotFoundError when absent; ConflictError when the transition is not allowed from its state.
   */
  async transition(input: { tenantId: TenantKey; id: string; to: IncidentState; actor: string; reason?: string }): Promise<IncidentRecord> {
    // Every caller field, before the first store call: a refusal names it (never `effects[0]...`).
    checkInput(TransitionInputSchema, input, "transition");
    for (;;) {
      const cur = await this.store.get({ tenantId: input.tenantId, id: input.id });
      if (!cur) throw new NotFoundError(`[ops/incidents] incident ${input.id} not found`);
      if (!ALLOWED[cur.state].includes(input.to))
        throw new ConflictError(`[ops/incidents] incident ${input.id}: cannot move from ${cur.state} to ${input.to}`);
      const now = this.now();
      const d = dataOf(cur);
      const t = { from: cur.state, to: input.to, at: now, actor: input.actor, ...(input.reason ? { reason: input.reason } : {}) };
      const next: IncidentData = { ...d, history: [...d.history, t] };
      let updated: IncidentRecord;
      const effects = this.transitionEffects(cur, cur.state, input.to, input.actor, input.reason);
      try {
        updated = await this.store.update({
          tenantId: input.tenantId,
          id: input.id,
          expectedVersion: cur.version,
          patch: { state: input.to, updatedAt: now, data: toJson(next), ...(input.to === "resolved" ? { resolvedAt: now } : {}) },
          ...(effects.length > 0 ? { effects } : {}),
        });
      } catch (err) {
        if (err instanceof ConflictError) continue;
        throw err;
      }
      if (effects.length > 0) await this.relay!.deliver(effects.map((e) => e.id));
      else await this.auditTransition(updated, cur.state, input.to, input.actor, input.reason);
      return updated;
    }
  }

  acknowledge(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }) {
    return this.transition({ ...i, to: "acknowledged" });
  }

  resolve(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }) {
    return this.transition({ ...i, to: "resolved" });
  }

  /**
   * Read-modify-write of an incident's data with compare-and-set. `fn` returns the new data, or
   * null to leave it. Returns the record after the write, or null when `fn` declined. Never retries
   * when `claim` is set: a lost race means another instance acts on it.
   */
  async mutate(
    tenantId: TenantKey,
    id: string,
    fn: (r: IncidentRecord, d: IncidentData) => IncidentData | null,
    o: { claim?: boolean; effects?: (r: IncidentRecord, next: IncidentData) => PendingEffect[] } = {},
  ): Promise<IncidentRecord | null> {
    for (;;) {
      const cur = await this.store.get({ tenantId, id });
      if (!cur) throw new NotFoundError(`[ops/incidents] incident ${id} not found`);
      const next = fn(cur, dataOf(cur));
      if (!next) return null;
      const effects = this.relay && o.effects ? o.effects(cur, next) : [];
      try {
        const written = await this.store.update({
          tenantId,
          id,
          expectedVersion: cur.version,
          patch: { updatedAt: this.now(), data: toJson(next) },
          ...(effects.length > 0 ? { effects } : {}),
        });
        if (effects.length > 0) await this.relay!.deliver(effects.map((e) => e.id));
        return written;
      } catch (err) {
        if (err instanceof ConflictError) {
          if (o.claim) return null;
          continue;
        }
        throw err;
      }
    }
  }

  /** Writes one audit entry about `incident` (no-op without an AuditSink). */
  async record(action: string, incident: IncidentRecord, actor: string, reason: string | undefined, meta: Record<string, JsonValue>) {
    checkInput(AuditRecordInputSchema, { action, actor, reason, meta }, "incident audit entry");
    if (!this.audit) return;
    const entry = this.entryOf(action, incident, actor, reason, meta);
    try {
      await this.audit.record(entry);
    } catch (err) {
      // The state change stands; its audit entry waits in the store and is retried every tick.
      this.onAuditError(err);
      await this.pending((list) => [...list, entry].slice(-10_000));
    }
  }

  private entryOf(
    action: string,
    incident: Omit<IncidentRecord, "version">,
    actor: string,
    reason: string | undefined,
    meta: Record<string, JsonValue>,
  ): AuditSinkEntry {
    return {
      action,
      actor: { id: actor, type: actor === SPINE_ACTOR ? "system" : "user" },
      tenantId: incident.tenantId,
      target: { id: incident.id, type: "incident", name: incident.title },
      outcome: "success",
      ...(reason ? { reason } : {}),
      surface: "ops-spine",
      meta: { incidentType: incident.type, severity: incident.severity, ...meta },
    };
  }

  /**
   * Retries audit entries whose first write failed, in order, stopping at the first failure.
   * Returns how many are still pending.
   */
  async retryPendingAudits(): Promise<number> {
    if (!this.audit) return 0;
    const doc = await this.store.getModel({ tenantId: null, name: PENDING_AUDITS });
    const list = ((doc?.model.entries ?? []) as unknown as AuditSinkEntry[]) ?? [];
    if (list.length === 0) return 0;
    let done = 0;
    for (const e of list) {
      try {
        await this.audit.record(e);
        done++;
      } catch (err) {
        this.onAuditError(err);
        break;
      }
    }
    if (done > 0) await this.pending((cur) => cur.slice(done));
    return list.length - done;
  }

  private async pending(fn: (list: AuditSinkEntry[]) => AuditSinkEntry[]): Promise<void> {
    for (;;) {
      const doc = await this.store.getModel({ tenantId: null, name: PENDING_AUDITS });
      const list = (doc?.model.entries ?? []) as unknown as AuditSinkEntry[];
      try {
        await this.store.putModel({
          tenantId: null,
          name: PENDING_AUDITS,
          model: { entries: fn(list) } as unknown as JsonObject,
          expectedVersion: doc?.version ?? null,
          updatedAt: this.now(),
        });
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }

  private auditTransition(incident: IncidentRecord, from: IncidentState | null, to: IncidentState, actor: string, reason?: string) {
    return this.record(AUDIT_ACTION[to], incident, actor, reason, { from, to, fingerprint: incident.fingerprint });
  }
}
