import { ConflictError, NotFoundError, ValidationError, type FlagWriter, type IncidentRecord, type JsonValue, type TenantKey } from "@ops/core";
import { dataOf, type AppliedFlag, type IncidentData, type MitigationState } from "./incident-data.js";
import { SPINE_ACTOR, type IncidentManager } from "./lifecycle.js";

export type MitigationMode = "off" | "suggest" | "apply";

/** Approval hook: return true to apply, false to decline (the incident keeps the suggestion). */
export type ApprovalHook = (request: {
  incident: IncidentRecord;
  flags: MitigationState["flags"];
}) => boolean | Promise<boolean>;

export interface MitigationPolicy {
  /** Default "suggest": recommended flags are recorded on the incident, nothing flips. */
  mode: MitigationMode;
  /** Per incident type overrides of `mode`. */
  byType?: Record<string, MitigationMode>;
  /** In "apply" mode, asked before any flag flips. */
  approve?: ApprovalHook;
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
    const wanted: MitigationState["status"] = mode === "suggest" || !this.flags ? "suggested" : this.policy.approve ? "awaiting_approval" : "applying";
    const claimed = await this.manager.mutate(
      incident.tenantId,
      incident.id,
      (_r, cur) => (cur.mitigation ? null : { ...cur, mitigation: { status: wanted, at, by: this.instanceId, flags, applied: [] } }),
      { claim: true },
    );
    if (!claimed) return { status: "skipped", applied: [] };
    if (wanted === "suggested") return { status: "suggested", applied: [] };
    if (wanted === "awaiting_approval") {
      const ok = await this.policy.approve!({ incident: claimed, flags });
      if (!ok) {
        await this.setStatus(claimed, "declined");
        await this.manager.record("INCIDENT_MITIGATION_DECLINED", claimed, SPINE_ACTOR, "approval hook declined", { flags: flags.map((f) => f.key) });
        return { status: "declined", applied: [] };
      }
      await this.setStatus(claimed, "applying");
    }
    return this.apply(claimed, flags);
  }

  /**
   * Applies an incident's suggested (or declined) flags now, e.g. after a human approved.
   * @throws ConflictError when already applied or being applied; NotFoundError when absent.
   */
  async applyNow(input: { tenantId: TenantKey; id: string; actor: string }): Promise<MitigationResult> {
    if (!this.flags) throw new ValidationError("[ops/incidents] applyNow: no FlagWriter configured (flags option)", [{ path: "flags", message: "expected a FlagWriter" }]);
    let flags: MitigationState["flags"] = [];
    const claimed = await this.manager.mutate(input.tenantId, input.id, (_r, d) => {
      const st = d.mitigation?.status;
      if (st && st !== "suggested" && st !== "declined" && st !== "awaiting_approval" && st !== "rolled_back")
        throw new ConflictError(`[ops/incidents] incident ${input.id}: mitigation is ${st}`);
      flags = d.mitigation?.flags ?? [];
      return { ...d, mitigation: { status: "applying", at: this.manager.now(), by: input.actor, flags, applied: [] } };
    });
    if (!claimed) throw new NotFoundError(`[ops/incidents] incident ${input.id} not found`);
    return this.apply(claimed, flags);
  }

  private async apply(incident: IncidentRecord, flags: MitigationState["flags"]): Promise<MitigationResult> {
    const applied: AppliedFlag[] = [];
    try {
      for (const f of flags) {
        const { previous } = await this.flags!.setValue({ key: f.key, value: f.value, tenantId: f.tenantId, actor: SPINE_ACTOR, reason: reasonOf(incident) });
        applied.push({ key: f.key, tenantId: f.tenantId, value: f.value, hadPrevious: previous !== undefined, previous: previous === undefined ? null : previous });
      }
    } catch (err) {
      // Half-applied is worse than none: put back what was flipped, then report.
      await this.restore(incident, applied).catch(() => {});
      await this.setStatus(incident, "failed", [], String((err as Error)?.message ?? err));
      return { status: "failed", applied: [] };
    }
    await this.setStatus(incident, "applied", applied);
    if (incident.state === "open" || incident.state === "acknowledged")
      await this.manager.transition({ tenantId: incident.tenantId, id: incident.id, to: "mitigated", actor: SPINE_ACTOR, reason: `flags set: ${applied.map((a) => a.key).join(", ")}` });
    return { status: "applied", applied };
  }

  /**
   * Restores exactly the values the incident's mitigation replaced (a flag that was unset is
   * cleared again), touching no other flag. Audited as INCIDENT_ROLLED_BACK.
   * @throws NotFoundError when absent; ConflictError when nothing applied is left to roll back.
   */
  async rollback(input: { tenantId: TenantKey; id: string; actor?: string }): Promise<AppliedFlag[]> {
    const actor = input.actor ?? SPINE_ACTOR;
    let applied: AppliedFlag[] = [];
    const claimed = await this.manager.mutate(input.tenantId, input.id, (_r, d) => {
      if (d.mitigation?.status !== "applied")
        throw new ConflictError(`[ops/incidents] incident ${input.id}: nothing to roll back (mitigation is ${d.mitigation?.status ?? "absent"})`);
      applied = d.mitigation.applied;
      return { ...d, mitigation: { ...d.mitigation, status: "rolling_back", at: this.manager.now(), by: actor } };
    });
    if (!claimed) throw new NotFoundError(`[ops/incidents] incident ${input.id} not found`);
    await this.restore(claimed, applied, actor);
    await this.setStatus(claimed, "rolled_back", applied);
    await this.manager.record("INCIDENT_ROLLED_BACK", claimed, actor, `restored ${applied.length} flag(s)`, {
      flags: applied.map((a) => ({ key: a.key, tenantId: a.tenantId, restored: a.hadPrevious ? a.previous : null, cleared: !a.hadPrevious })) as JsonValue,
    });
    return applied;
  }

  private async restore(incident: IncidentRecord, applied: readonly AppliedFlag[], actor = SPINE_ACTOR): Promise<void> {
    const reason = `rollback of ${reasonOf(incident)}`;
    for (const a of [...applied].reverse()) {
      if (a.hadPrevious) await this.flags!.setValue({ key: a.key, value: a.previous, tenantId: a.tenantId, actor, reason });
      else if (this.flags!.clearValue) await this.flags!.clearValue({ key: a.key, tenantId: a.tenantId, actor, reason });
      else await this.flags!.setValue({ key: a.key, value: null, tenantId: a.tenantId, actor, reason });
    }
  }

  private async setStatus(incident: IncidentRecord, status: MitigationState["status"], applied?: AppliedFlag[], error?: string) {
    await this.manager.mutate(incident.tenantId, incident.id, (_r, d: IncidentData) => ({
      ...d,
      mitigation: {
        ...(d.mitigation ?? { flags: [], applied: [], by: this.instanceId, at: "" }),
        status,
        at: this.manager.now(),
        ...(applied ? { applied } : {}),
        ...(error ? { error } : {}),
      },
    }));
  }
}
