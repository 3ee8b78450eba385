import {
  ConflictError,
  NotFoundError,
  prefixedId,
  ValidationError,
  type FlagWriter,
  type IncidentRecord,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import { ApplyNowInputSchema, checkInput, RollbackInputSchema } from "./inputs.js";
import { dataOf, type AppliedFlag, type IncidentData, type MitigationState } from "./incident-data.js";
import { SPINE_ACTOR, type IncidentManager } from "./lifecycle.js";

export type MitigationMode = "off" | "suggest" | "apply";

/** Approval hook: return true to apply, false to decline (the incident keeps the suggestion). */
export type ApprovalHook = (request: { incident: IncidentRecord; flags: MitigationState["flags"] }) => boolean | Promise<boolean>;

export interface MitigationPolicy {
  /** Default "suggest": recommended flags are recorded on the incident, nothing flips. */
  mode: MitigationMode;
  /** Per incident type overrides of `mode`. */
  byType?: Record<string, MitigationMode>;
  /** In "apply" mode, asked before any flag flips. */
  approve?: ApprovalHook;
  /**
   * Whether an incident of one tenant may change flags for every tenant (its recommendations of
   * scope "global"). Default false: a tenant's incident applies only its tenant-scoped flags; the
   * global ones stay on the incident as suggestions for a global operator to apply by hand.
   */
  tenantIncidentsMayChangeGlobalFlags?: boolean;
}

export interface MitigationResult {
  status: MitigationState["status"] | "skipped";
  applied: AppliedFlag[];
}

const reasonOf = (i: IncidentRecord) => `incident ${i.id}: ${i.type} (${i.title})`;

/**
 * Applies and rolls back an incident's recommended flags through the `FlagWriter` port, as actor
 * "ops-spine". Each incident is acted on once: the first instance to claim it (compare-and-set on
 * the incident) flips the flags, the others skip.
 */
export class Mitigator {
  constructor(
    private readonly manager: IncidentManager,
    private readonly policy: MitigationPolicy,
    private readonly flags: FlagWriter | undefined,
    private readonly instanceId: string,
  ) {}

  modeFor(type: string): MitigationMode {
    return this.policy.byType?.[type] ?? this.policy.mode;
  }

  /**
   * The flags this incident may flip itself. A tenant's incident (signals any tenant can send)
   * never changes a global flag unless the policy says so: it would act for every tenant.
   */
  applicable<F extends { tenantId: TenantKey }>(incident: Pick<IncidentRecord, "tenantId">, flags: readonly F[]): F[] {
    if (incident.tenantId === null || this.policy.tenantIncidentsMayChangeGlobalFlags === true) return [...flags];
    return flags.filter((f) => f.tenantId === incident.tenantId);
  }

  /** Acts on a freshly raised incident according to the policy. */
  async mitigate(incident: IncidentRecord): Promise<MitigationResult> {
    const mode = this.modeFor(incident.type);
    if (mode === "off") return { status: "skipped", applied: [] };
    const d = dataOf(incident);
    const flags = d.response.recommended_flags.map((f) => ({
      key: f.key,
      value: f.value,
      reason: f.reason,
      tenantId: f.scope === "tenant" ? incident.tenantId : null,
    }));
    const at = this.manager.now();
    const wanted: MitigationState["status"] =
      mode === "suggest" || !this.flags || this.applicable(incident, flags).length === 0
        ? "suggested"
        : this.policy.approve
          ? "awaiting_approval"
          : "applying";
    const lease = prefixedId("lse");
    const claimed = await this.manager.mutate(
      incident.tenantId,
      incident.id,
      (_r, cur) => (cur.mitigation ? null : { ...cur, mitigation: { status: wanted, at, by: this.instanceId, flags, applied: [], lease } }),
      { claim: true },
    );
    if (!claimed) return { status: "skipped", applied: [] };
    if (wanted === "suggested") return { status: "suggested", applied: [] };
    if (wanted === "awaiting_approval") {
      // A hook that fails has not approved: decline (a human can still apply it) rather than
      // leave the incident "awaiting_approval" with nobody asked and the caller's raise failing.
      let ok = false;
      let why = "approval hook declined";
      try {
        ok = Boolean(await this.policy.approve!({ incident: claimed, flags }));
      } catch (err) {
        why = `approval hook failed: ${String((err as Error)?.message ?? err).slice(0, 200)}`;
      }
      if (!ok) {
        await this.setStatus(claimed, lease, "declined", undefined, why === "approval hook declined" ? undefined : why);
        await this.manager.record("INCIDENT_MITIGATION_DECLINED", claimed, SPINE_ACTOR, why, { flags: flags.map((f) => f.key) });
        return { status: "declined", applied: [] };
      }
      await this.setStatus(claimed, lease, "applying");
    }
    return this.apply(claimed, lease, flags);
  }

  /**
   * Applies an incident's suggested (or declined) flags now, e.g. after a human approved.
   * @throws ConflictError when already applied or being applied; NotFoundError when absent.
   */
  async applyNow(input: { tenantId: TenantKey; id: string; actor: string }): Promise<MitigationResult> {
    checkInput(ApplyNowInputSchema, input, "mitigation");
    if (!this.flags)
      throw new ValidationError("[ops/incidents] applyNow: no FlagWriter configured (flags option)", [
        { path: "flags", message: "expected a FlagWriter" },
      ]);
    let flags: MitigationState["flags"] = [];
    const lease = prefixedId("lse");
    const claimed = await this.manager.mutate(input.tenantId, input.id, (_r, d) => {
      const st = d.mitigation?.status;
      if (st && st !== "suggested" && st !== "declined" && st !== "awaiting_approval" && st !== "rolled_back")
        throw new ConflictError(`[ops/incidents] incident ${input.id}: mitigation is ${st}`);
      flags = d.mitigation?.flags ?? [];
      if (flags.length > 0 && this.applicable(_r, flags).length === 0)
        throw new ConflictError(
          `[ops/incidents] incident ${input.id}: its recommended flags are global; a tenant's incident does not change them (a global operator sets them)`,
        );
      return { ...d, mitigation: { status: "applying", at: this.manager.now(), by: input.actor, flags, applied: [], lease } };
    });
    if (!claimed) throw new NotFoundError(`[ops/incidents] incident ${input.id} not found`);
    return this.apply(claimed, lease, flags);
  }

  /**
   * Flips the flags one by one. Before each flip its journal record (the exact previous value, read
   * before the flip) is stored with the status, so rollback is exact after a crash at any step.
   * Every status write is compare-and-set on the lease: an instance that lost its lease (it was
   * slow, another took over) stops at its next write instead of going on applying.
   */
  private async apply(
    incident: IncidentRecord,
    lease: string,
    flags: MitigationState["flags"],
    already: readonly AppliedFlag[] = [],
  ): Promise<MitigationResult> {
    const applied: AppliedFlag[] = already.map((a) => ({ ...a }));
    try {
      for (const f of this.applicable(incident, flags)) {
        let entry = applied.find((a) => a.key === f.key && a.tenantId === f.tenantId);
        if (entry && !entry.pending) continue;
        const fresh = !entry;
        if (!entry) {
          const current = await this.flags!.getValue({ key: f.key, tenantId: f.tenantId });
          entry = {
            key: f.key,
            tenantId: f.tenantId,
            value: f.value,
            hadPrevious: current !== undefined,
            previous: current === undefined ? null : current,
            pending: true,
          };
          applied.push(entry);
          await this.setStatus(incident, lease, "applying", applied);
        }
        const { previous } = await this.flags!.setValue({
          key: f.key,
          value: f.value,
          tenantId: f.tenantId,
          actor: SPINE_ACTOR,
          reason: reasonOf(incident),
        });
        // A fresh entry takes the value the flip really replaced (someone may have written in
        // between); a pending one from a crashed instance keeps its journal: the store may already
        // hold our own value.
        if (fresh) {
          entry.hadPrevious = previous !== undefined;
          entry.previous = previous === undefined ? null : previous;
        }
        delete entry.pending;
        await this.setStatus(incident, lease, "applying", applied);
      }
    } catch (err) {
      if (err instanceof LeaseLostError) return { status: "skipped", applied: [] };
      // Half-applied is worse than none: put back what was flipped, then report. The journal is
      // kept on the failed mitigation, so what could not be restored can still be rolled back.
      let kept = applied;
      try {
        await this.restore(incident, applied);
        kept = [];
      } catch {
        // Not all put back: the journal stays whole, for a rollback later.
      }
      await this.setStatus(incident, lease, "failed", kept, String((err as Error)?.message ?? err)).catch(() => {});
      return { status: "failed", applied: [] };
    }
    try {
      await this.setStatus(incident, lease, "applied", applied);
    } catch (err) {
      if (err instanceof LeaseLostError) return { status: "skipped", applied: [] };
      throw err;
    }
    try {
      await this.manager.transition({
        tenantId: incident.tenantId,
        id: incident.id,
        to: "mitigated",
        actor: SPINE_ACTOR,
        reason: `flags set: ${applied.map((a) => a.key).join(", ")}`,
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // already mitigated or resolved by someone
    }
    return { status: "applied", applied };
  }

  /**
   * Takes over mitigations left "applying" or "rolling_back" for longer than `leaseMs` (the
   * instance doing it died): claims each with compare-and-set, then finishes it from the stored
   * progress. Returns how many were taken over.
   */
  async recoverStale(active: readonly IncidentRecord[], nowMs: number, leaseMs: number): Promise<number> {
    let n = 0;
    for (const r of active) {
      const m = dataOf(r).mitigation;
      // Raised, but its raiser died before the policy was acted on: act on it now (the claim in
      // `mitigate` makes exactly one instance do it).
      if (!m && r.state === "open" && nowMs - Date.parse(r.openedAt) >= leaseMs && this.modeFor(r.type) !== "off") {
        const res = await this.mitigate(r);
        if (res.status !== "skipped") n++;
        continue;
      }
      // Flags applied, but the instance died before the incident moved to "mitigated".
      if (m?.status === "applied" && (r.state === "open" || r.state === "acknowledged") && nowMs - Date.parse(m.at) >= leaseMs) {
        await this.manager
          .transition({
            tenantId: r.tenantId,
            id: r.id,
            to: "mitigated",
            actor: SPINE_ACTOR,
            reason: `flags set: ${m.applied.map((a) => a.key).join(", ")}`,
          })
          .then(() => n++)
          .catch((err: unknown) => {
            if (!(err instanceof ConflictError)) throw err;
          });
        continue;
      }
      if (!m || (m.status !== "applying" && m.status !== "rolling_back") || nowMs - Date.parse(m.at) < leaseMs) continue;
      const lease = prefixedId("lse");
      const claimed = await this.manager.mutate(
        r.tenantId,
        r.id,
        (_r, d) =>
          d.mitigation?.status === m.status && d.mitigation.at === m.at
            ? { ...d, mitigation: { ...d.mitigation, at: this.manager.now(), by: this.instanceId, lease } }
            : null,
        { claim: true },
      );
      if (!claimed) continue;
      n++;
      if (m.status === "applying" && this.flags) await this.apply(claimed, lease, m.flags, m.applied);
      else if (m.status === "rolling_back" && this.flags) {
        await this.restore(claimed, m.applied);
        await this.setStatus(claimed, lease, "rolled_back", m.applied);
        await this.manager.record("INCIDENT_ROLLED_BACK", claimed, SPINE_ACTOR, `rollback finished by ${this.instanceId}`, {
          flags: m.applied.map((a) => a.key),
        });
      }
    }
    return n;
  }

  /**
   * Restores exactly the values the incident's mitigation replaced (a flag that was unset is
   * cleared again), touching no other flag. Audited as INCIDENT_ROLLED_BACK.
   * @throws NotFoundError when absent; ConflictError when nothing applied is left to roll back.
   */
  async rollback(input: { tenantId: TenantKey; id: string; actor?: string }): Promise<AppliedFlag[]> {
    checkInput(RollbackInputSchema, input, "rollback");
    const actor = input.actor ?? SPINE_ACTOR;
    let applied: AppliedFlag[] = [];
    const lease = prefixedId("lse");
    const claimed = await this.manager.mutate(input.tenantId, input.id, (_r, d) => {
      // A failed mitigation keeps the journal of what it could not put back: that rolls back too.
      if (d.mitigation?.status !== "applied" && !(d.mitigation?.status === "failed" && d.mitigation.applied.length > 0))
        throw new ConflictError(
          `[ops/incidents] incident ${input.id}: nothing to roll back (mitigation is ${d.mitigation?.status ?? "absent"})`,
        );
      applied = d.mitigation.applied;
      return { ...d, mitigation: { ...d.mitigation, status: "rolling_back", at: this.manager.now(), by: actor, lease } };
    });
    if (!claimed) throw new NotFoundError(`[ops/incidents] incident ${input.id} not found`);
    const kept = await this.restore(claimed, applied, actor);
    const restored = applied.filter((a) => !kept.some((k) => k.key === a.key && k.tenantId === a.tenantId));
    await this.setStatus(claimed, lease, "rolled_back", applied);
    const note = kept.length ? `, left ${kept.length} changed since the mitigation` : "";
    await this.manager.record("INCIDENT_ROLLED_BACK", claimed, actor, `restored ${restored.length} flag(s)${note}`, {
      flags: restored.map((a) => ({
        key: a.key,
        tenantId: a.tenantId,
        restored: a.hadPrevious ? a.previous : null,
        cleared: !a.hadPrevious,
      })) as JsonValue,
      ...(kept.length
        ? { keptChangedSince: kept.map((k) => ({ key: k.key, tenantId: k.tenantId, current: k.current ?? null })) as JsonValue }
        : {}),
    });
    return restored;
  }

  /**
   * Puts back what `applied` replaced, newest first. A flag whose value is no longer the one the
   * mitigation set was changed by someone since (a person, another incident): it is left as it is
   * and returned, so a rollback never overwrites a later decision.
   */
  private async restore(
    incident: IncidentRecord,
    applied: readonly AppliedFlag[],
    actor = SPINE_ACTOR,
  ): Promise<Array<AppliedFlag & { current: JsonValue | undefined }>> {
    const reason = `rollback of ${reasonOf(incident)}`;
    const kept: Array<AppliedFlag & { current: JsonValue | undefined }> = [];
    for (const a of [...applied].reverse()) {
      const current = await this.flags!.getValue({ key: a.key, tenantId: a.tenantId });
      if (!sameJson(current, a.value)) {
        kept.push({ ...a, current });
        continue;
      }
      if (a.hadPrevious) await this.flags!.setValue({ key: a.key, value: a.previous, tenantId: a.tenantId, actor, reason });
      else if (this.flags!.clearValue) await this.flags!.clearValue({ key: a.key, tenantId: a.tenantId, actor, reason });
      else await this.flags!.setValue({ key: a.key, value: null, tenantId: a.tenantId, actor, reason });
    }
    return kept;
  }

  /**
   * Writes the mitigation's status (and journal) only while `lease` still owns it: one
   * compare-and-set on the incident's version, re-read on a version race.
   * @throws LeaseLostError when another claim took the mitigation over.
   */
  private async setStatus(
    incident: IncidentRecord,
    lease: string,
    status: MitigationState["status"],
    applied?: AppliedFlag[],
    error?: string,
  ) {
    await this.manager.mutate(incident.tenantId, incident.id, (_r, d: IncidentData) => {
      if ((d.mitigation?.lease ?? lease) !== lease)
        throw new LeaseLostError(
          `[ops/incidents] incident ${incident.id}: mitigation lease lost to ${d.mitigation?.by ?? "another instance"}; stopping`,
        );
      return {
        ...d,
        mitigation: {
          ...(d.mitigation ?? { flags: [], applied: [], by: this.instanceId, at: "" }),
          status,
          at: this.manager.now(),
          lease,
          ...(applied ? { applied: applied.map((a) => ({ ...a })) } : {}),
          ...(error ? { error } : {}),
        },
      };
    });
  }
}

/** This instance no longer owns the mitigation (it was slow; another took it over). */
export class LeaseLostError extends ConflictError {}

/** Deep equality of JSON values (object key order ignored). */
function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as JsonValue[]).length && a.every((x, i) => sameJson(x, (b as JsonValue[])[i]));
  const ka = Object.keys(a);
  const ob = b as { [k: string]: JsonValue };
  return ka.length === Object.keys(ob).length && ka.every((k) => k in ob && sameJson((a as { [k: string]: JsonValue })[k], ob[k]));
}
