import {
  checkStorableFields,
  ConflictError,
  NotFoundError,
  ValidationError,
  auditEffect,
  checkEffects,
  createEffectRelay,
  parseInput,
  streamFlagSnapshot,
  type AuditSinkEntry,
  type EffectRelay,
  type PendingEffect,
  type FlagRecord,
  type FlagStore,
  type FlagWriter,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import { ApprovalRequiredError } from "./approvals/errors.js";
import { FlagChangeSchema, type FlagChange, type PlannedChange } from "./approvals/change.js";
import { auditChange } from "./audit-change.js";
import { compileFlag } from "./compile.js";
import { checkPrerequisiteCycles } from "./prerequisites.js";
import {
  FlagConfigSchema,
  FlagPatchSchema,
  SEGMENT_PREFIX,
  inferType,
  valueMatchesType,
  type FlagConfig,
  type FlagPatch,
} from "./config.js";
import type { FlagDefinitions } from "./define-flags.js";
import * as I from "./inputs.js";
import type { FeatureFlagControllerOptions } from "./options.js";
import { FlagReader } from "./reader.js";
import { applyPatch, nextScheduledAt } from "./schedule.js";
import type { StaleFlag, StaleOptions } from "./stale.js";
import { STATS_KEY, UsageTracker } from "./usage.js";
import type { FlagType } from "./types.js";

const SET_VALUE = { pkg: "flags", what: "setValue input" };
const CLEAR_VALUE = { pkg: "flags", what: "clearValue input" };

type Op =
  | "usage"
  | "set"
  | "clear"
  | "update"
  | "enable"
  | "disable"
  | "rules"
  | "rollout"
  | "delete"
  | "segment"
  | "schedule"
  | "scheduled-apply"
  | "create";

/**
 * Reads and writes feature flags: reads (see `FlagReader`) are synchronous over precompiled
 * flags kept fresh by the store's change subscription (or polling); writes are validated,
 * compare-and-set, audited. Implements `FlagWriter` so incidents can flip and roll back flags.
 */
export class FeatureFlagController<D extends FlagDefinitions = FlagDefinitions> extends FlagReader<D> implements FlagWriter {
  private readonly maxAttempts: number;
  private scheduleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly tracker: UsageTracker;
  /** Audit entries of committed writes whose sink rejected: retried in order (each refresh, each write). */
  private readonly auditQueue: AuditSinkEntry[] = [];
  private auditDraining: Promise<void> | null = null;
  /** Delivers the FLAG_CHANGE effects committed with the flags (present with `options.effects` and `options.audit`). */
  private readonly relay: EffectRelay | null;

  /** @throws ValidationError when `env` is not an environment slug, ConfigError for a bad option. */
  constructor(store: FlagStore, env: string, options: FeatureFlagControllerOptions<D> = {}) {
    super(store, env, options);
    this.maxAttempts = options.maxWriteAttempts ?? 50;
    this.tracker = new UsageTracker(this.state, this.clock, this.startedAt);
    this.relay =
      options.effects && options.audit
        ? createEffectRelay({
            store: options.effects,
            audit: options.audit,
            clock: this.clock,
            ...(options.relayPollMs !== undefined ? { pollMs: options.relayPollMs } : {}),
            onError: (err, e) =>
              this.onError(err, { operation: "audit", key: String((e.payload.target as { id?: unknown } | undefined)?.id ?? "") }),
          })
        : null;
    if (options.autoStart !== false) {
      void this.ready();
      // Leftovers of a crashed process (and retries of failed deliveries) are delivered from the start.
      this.relay?.start();
    }
  }

  protected override async maintain(): Promise<void> {
    await this.retryAudits();
    await this.relay?.drain().catch((err: unknown) => this.onError(err, { operation: "audit" }));
    await this.applyDueChanges().catch((err: unknown) => this.onError(err, { operation: "schedule" }));
    const every = this.options.usageFlushMs ?? 600_000;
    if (every > 0 && this.clock.now() - this.tracker.lastFlush >= every)
      await this.flushUsage().catch((err: unknown) => this.onError(err, { operation: "usage" }));
  }

  protected override beforeReload(): void {
    this.tracker.sample();
  }

  protected override afterChange(): void {
    this.armSchedule();
  }

  protected override async beforeClose(): Promise<void> {
    if (this.loaded && (this.options.usageFlushMs ?? 600_000) > 0)
      await this.flushUsage().catch((err: unknown) => this.onError(err, { operation: "usage" }));
  }

  /** Stops subscriptions and timers (after flushing usage). Does not close the store. Idempotent. */
  override async close(): Promise<void> {
    await super.close();
    await this.relay?.stop();
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Sets a flag's value. Without `tenantId`: sets the flag's value in this environment (creating
   * the flag, typed by its definition or the value, if needed; rules and rollouts stay). With
   * `tenantId`: sets that tenant's override. Compare-and-set with retries: concurrent writers
   * never lose an update; pass `expectedVersion` to fail instead of retrying.
   * @throws ValidationError (bad input or a value of the wrong type; nothing written), ConflictError.
   */
  async setFlag(input: I.SetFlagInput): Promise<FlagRecord> {
    const p = parseInput(I.SetFlagInput, input, { pkg: "flags", what: "setFlag input" });
    const tenantId = p.tenantId ?? null;
    let expected = this.expectedType(p.key);
    // A tenant write never reads the global record in `mutate`: without a definition, take the
    // type from the store, since the local copy may not be loaded yet or may predate the flag.
    if (tenantId !== null && !this.options.definitions?.[p.key]) {
      const global = await this.store.get({ env: this.env, key: p.key, tenantId: null });
      const parsed = global ? FlagConfigSchema.safeParse(global.config) : null;
      if (parsed?.success) expected = parsed.data.type;
    }
    if (expected && !valueMatchesType(expected, p.newValue))
      throw new ValidationError(`[ops/flags] invalid newValue for flag "${p.key}": expected a ${expected}`, [
        { path: "newValue", message: `expected a ${expected}` },
      ]);
    const rec = await this.mutate(
      { key: p.key, tenantId },
      { actor: p.actorUserId, reason: p.reason, op: "set", expectedVersion: p.expectedVersion },
      (current) => {
        if (tenantId !== null) return { value: p.newValue };
        const base = current ? this.parseStored(p.key, current) : this.newConfig(p.key, p.newValue);
        if (!valueMatchesType(base.type, p.newValue))
          throw new ValidationError(`[ops/flags] invalid newValue for flag "${p.key}": expected a ${base.type}`, [
            { path: "newValue", message: `expected a ${base.type}` },
          ]);
        return applyPatch(base, { value: p.newValue });
      },
    );
    return rec!;
  }

  /**
   * Changes any editable part of a flag (kill switch, value, variants, rules, rollout, metadata).
   * Creates the flag from its definition when absent.
   * @throws ValidationError, NotFoundError (absent and not defined), ConflictError.
   */
  async updateFlag(input: I.UpdateFlagInput): Promise<FlagRecord> {
    const p = parseInput(I.UpdateFlagInput, input, { pkg: "flags", what: "updateFlag input" });
    return this.patch(p.key, p.patch, p.actorUserId, p.reason, "update", p.expectedVersion);
  }

  /** The kill switch: `enabled: false` serves the off value to everyone, overrides and rules included. */
  async setEnabled(input: I.SetEnabledInput): Promise<FlagRecord> {
    const p = parseInput(I.SetEnabledInput, input, { pkg: "flags", what: "setEnabled input" });
    return this.patch(p.key, { enabled: p.enabled }, p.actorUserId, p.reason, p.enabled ? "enable" : "disable");
  }

  /** Replaces the targeting rules (evaluated in order). */
  async setRules(input: I.SetRulesInput): Promise<FlagRecord> {
    const p = parseInput(I.SetRulesInput, input, { pkg: "flags", what: "setRules input" });
    return this.patch(p.key, { rules: p.rules }, p.actorUserId, p.reason, "rules");
  }

  /** Sets (or with null removes) the flag-level percentage rollout or split. */
  async setRollout(input: I.SetRolloutInput): Promise<FlagRecord> {
    const p = parseInput(I.SetRolloutInput, input, { pkg: "flags", what: "setRollout input" });
    return this.patch(p.key, { rollout: p.rollout }, p.actorUserId, p.reason, "rollout");
  }

  /** Removes a tenant's override. @throws NotFoundError when the tenant has none. */
  async clearTenantOverride(input: I.ClearOverrideInput): Promise<void> {
    const p = parseInput(I.ClearOverrideInput, input, { pkg: "flags", what: "clearTenantOverride input" });
    await this.mutate({ key: p.key, tenantId: p.tenantId }, { actor: p.actorUserId, reason: p.reason, op: "clear" }, (current) => {
      if (!current) throw new NotFoundError(`[ops/flags] flag "${p.key}" has no override for tenant ${p.tenantId}`);
      return null;
    });
  }

  /** Deletes a flag in this environment and every tenant override of it. @throws NotFoundError when absent. */
  async deleteFlag(input: I.DeleteFlagInput): Promise<void> {
    const p = parseInput(I.DeleteFlagInput, input, { pkg: "flags", what: "deleteFlag input" });
    // Read the overrides from the store, not the local copy: another process may have added one.
    const tenants = await this.overrideTenants(p.key);
    for (const tenantId of tenants) {
      await this.mutate({ key: p.key, tenantId }, { actor: p.actorUserId, reason: p.reason, op: "delete" }, () => null).catch(
        (err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        },
      );
    }
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "delete" }, (current) => {
      if (!current) throw new NotFoundError(`[ops/flags] flag "${p.key}" does not exist in ${this.env}`);
      return null;
    });
  }

  /** Creates or replaces a reusable segment, usable from rules' `segments`. */
  async defineSegment(input: I.DefineSegmentInput): Promise<FlagRecord> {
    const p = parseInput(I.SegmentInputSchema, input, { pkg: "flags", what: "defineSegment input" });
    const rec = await this.mutate(
      { key: `${SEGMENT_PREFIX}${p.name}`, tenantId: null },
      { actor: p.actorUserId, reason: p.reason, op: "segment" },
      () => ({ kind: "segment", ...p.segment }) as unknown as JsonValue,
    );
    return rec!;
  }

  /**
   * Stores a change to apply at `at` (by any process running a controller for this environment:
   * compare-and-set makes exactly one apply it). Returns the change id.
   */
  async scheduleChange(input: I.ScheduleChangeInput): Promise<string> {
    const p = parseInput(I.ScheduleInput, input, { pkg: "flags", what: "scheduleChange input" });
    const at = (typeof p.at === "string" ? new Date(p.at) : p.at).toISOString();
    const id = `sch_${this.clock.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "schedule" }, (current) => {
      const base = current ? this.parseStored(p.key, current) : this.configFromDefinition(p.key);
      // Validate now that the patch would apply cleanly, so a bad change fails at scheduling time.
      this.validated(p.key, applyPatch(base, p.patch));
      return { ...base, schedule: [...(base.schedule ?? []), { id, at, actor: p.actorUserId, reason: p.reason, patch: p.patch }] };
    });
    return id;
  }

  /** @throws NotFoundError when no such scheduled change is pending. */
  async cancelScheduledChange(input: I.CancelScheduledChangeInput): Promise<void> {
    const p = parseInput(I.CancelScheduleInput, input, { pkg: "flags", what: "cancelScheduledChange input" });
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "schedule" }, (current) => {
      const base = current ? this.parseStored(p.key, current) : null;
      if (!base?.schedule?.some((s) => s.id === p.id))
        throw new NotFoundError(`[ops/flags] flag "${p.key}" has no pending scheduled change ${p.id}`);
      return { ...base, schedule: base.schedule.filter((s) => s.id !== p.id) };
    });
  }

  /** Applies every scheduled change that is due (runs on its own on a timer). Returns how many were applied. */
  async applyDueChanges(): Promise<number> {
    const now = this.clock.now();
    let applied = 0;
    for (const key of [...this.state.globals.keys()]) {
      const due = this.state.configOf(key)?.schedule?.filter((s) => Date.parse(s.at) <= now) ?? [];
      for (const change of due.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
        const rec = await this.mutate(
          { key, tenantId: null },
          { actor: change.actor, reason: `scheduled: ${change.reason}`, op: "scheduled-apply", meta: { scheduledChangeId: change.id } },
          (current) => {
            const base = current ? this.parseStored(key, current) : null;
            // Another process applied (or someone cancelled) it meanwhile: nothing to do.
            if (!base?.schedule?.some((s) => s.id === change.id)) return NO_CHANGE;
            const rest = base.schedule.filter((s) => s.id !== change.id);
            return this.validated(key, { ...applyPatch(base, change.patch), schedule: rest });
          },
        );
        if (rec) applied += 1;
      }
    }
    this.armSchedule();
    return applied;
  }

  /**
   * Flags to clean up: expired (definition or stored `expiresAt` passed), or unchanged AND not
   * evaluated (by any process that flushed usage to `$stats`) for `unusedForDays` (default 30).
   */
  staleFlags(options: StaleOptions = {}): StaleFlag[] {
    return this.tracker.stale(options, this.options.definitions ?? {});
  }

  /**
   * Merges this process's last evaluation times into the environment's `$stats` record (latest
   * wins per key; compare-and-set, not audited). Runs on its own every `usageFlushMs` and on close.
   * @throws what the store throws
   */
  async flushUsage(): Promise<void> {
    const mine = this.tracker.takeChanges();
    if (!mine) return;
    await this.mutate({ key: STATS_KEY, tenantId: null }, { actor: "ops-flags", reason: "usage", op: "usage", audit: false }, (current) =>
      this.tracker.merge(current?.config ?? null, mine),
    );
  }

  // ---------------------------------------------------------------- approvals

  /**
   * The kill switch without approval, for emergencies: disables the flag even where
   * `requireApproval` is set, audited with `meta.approvalBypass: "emergency"`.
   * @throws ValidationError, NotFoundError, ConflictError
   */
  async emergencyDisable(input: { key: string; actorUserId: string; reason: string }): Promise<FlagRecord> {
    const p = parseInput(I.DeleteFlagInput, input, { pkg: "flags", what: "emergencyDisable input" });
    const rec = await this.mutate(
      { key: p.key, tenantId: null },
      { actor: p.actorUserId, reason: p.reason, op: "disable", bypass: true, meta: { approvalBypass: "emergency" } },
      (current) => {
        const base = current ? this.parseStored(p.key, current) : this.configFromDefinition(p.key);
        return this.validated(p.key, applyPatch(base, { enabled: false }));
      },
    );
    return rec!;
  }

  /**
   * What `change` would write now, without writing: the target record, its current version and
   * the validated next config. Change requests store this and apply it later at that version.
   * @throws ValidationError (bad change or a value of the wrong type), NotFoundError
   */
  async planChange(key: string, change: FlagChange): Promise<PlannedChange> {
    const k = parseInput(I.DeleteFlagInput.shape.key, key, { pkg: "flags", what: "key" });
    const c = parseInput(FlagChangeSchema, change, { pkg: "flags", what: "change" });
    const tenantId = c.kind === "set" ? (c.tenantId ?? null) : c.kind === "clearOverride" ? c.tenantId : null;
    const current = await this.store.get({ env: this.env, key: k, tenantId });
    const baseVersion = current?.version ?? null;
    const global = async () => (tenantId === null ? current : await this.store.get({ env: this.env, key: k, tenantId: null }));
    switch (c.kind) {
      case "set": {
        if (tenantId !== null) {
          const g = await global();
          const parsed = g ? FlagConfigSchema.safeParse(g.config) : null;
          const type = this.options.definitions?.[k]?.type ?? (parsed?.success ? parsed.data.type : null);
          if (type && !valueMatchesType(type, c.value))
            throw new ValidationError(`[ops/flags] invalid change.value for flag "${k}": expected a ${type}`, [
              { path: "change.value", message: `expected a ${type}` },
            ]);
          return { key: k, tenantId, baseVersion, config: { value: c.value }, op: "set" };
        }
        const base = current ? this.parseStored(k, current) : this.newConfig(k, c.value);
        if (!valueMatchesType(base.type, c.value))
          throw new ValidationError(`[ops/flags] invalid change.value for flag "${k}": expected a ${base.type}`, [
            { path: "change.value", message: `expected a ${base.type}` },
          ]);
        return { key: k, tenantId, baseVersion, config: this.validated(k, { ...base, value: c.value }), op: "set" };
      }
      case "clearOverride":
      case "delete":
        if (!current)
          throw new NotFoundError(
            `[ops/flags] flag "${k}" has no ${c.kind === "delete" ? "definition" : `override for tenant ${tenantId}`} in ${this.env}`,
          );
        return { key: k, tenantId, baseVersion, config: null, op: c.kind === "delete" ? "delete" : "clear" };
      default: {
        const patch: FlagPatch =
          c.kind === "update"
            ? c.patch
            : c.kind === "enable"
              ? { enabled: c.enabled }
              : c.kind === "rules"
                ? { rules: c.rules }
                : { rollout: c.rollout };
        const base = current ? this.parseStored(k, current) : this.configFromDefinition(k);
        const op = c.kind === "enable" ? (c.enabled ? "enable" : "disable") : c.kind;
        return { key: k, tenantId, baseVersion, config: this.validated(k, applyPatch(base, patch)), op };
      }
    }
  }

  /**
   * Writes a planned change with compare-and-set at the version it was planned on, past the
   * approval policy (callers: `FlagChangeRequests.approve`). A delete of the flag also removes its
   * tenant overrides. Audited like any change, with `meta`.
   * @throws ConflictError when the record moved since it was planned
   */
  async applyPlannedChange(
    plan: PlannedChange,
    how: { actor: string; reason: string; meta?: Record<string, JsonValue> },
  ): Promise<FlagRecord | null> {
    const at = { key: plan.key, tenantId: plan.tenantId };
    const opts = {
      actor: how.actor,
      reason: how.reason,
      op: plan.op as Op,
      expectedVersion: plan.baseVersion,
      bypass: true,
      ...(how.meta ? { meta: how.meta } : {}),
    };
    const written = await this.mutate(at, opts, () =>
      plan.config === null ? null : plan.tenantId === null ? this.validated(plan.key, plan.config as FlagConfig) : plan.config,
    );
    if (plan.op === "delete" && plan.tenantId === null) {
      for (const tenantId of await this.overrideTenants(plan.key))
        await this.mutate({ key: plan.key, tenantId }, { ...opts, expectedVersion: undefined }, () => null).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
    }
    return written;
  }

  /** @internal The stored config of one record, or null (change requests show it as "before"). */
  async getValueRecord(key: string, tenantId: TenantKey): Promise<JsonValue | null> {
    return (await this.store.get({ env: this.env, key, tenantId }))?.config ?? null;
  }

  // ---------------------------------------------------------------- FlagWriter

  /** This controller as the `FlagWriter` port (incidents use it to flip flags and roll back). */
  asFlagWriter(): FlagWriter {
    return this;
  }

  async getValue(input: { key: string; tenantId?: TenantKey }): Promise<JsonValue | undefined> {
    const rec = await this.store.get({ env: this.env, key: input.key, tenantId: input.tenantId ?? null });
    if (!rec) return undefined;
    const v = (rec.config as { value?: JsonValue } | null)?.value;
    return v === undefined ? undefined : v;
  }

  async setValue(input: {
    key: string;
    value: JsonValue;
    tenantId?: TenantKey;
    actor: string;
    reason: string;
  }): Promise<{ previous: JsonValue | undefined }> {
    // The caller's own field names (`value`, `actor`), before anything is read or written.
    checkStorableFields({ value: [input?.value, "json"], actor: [input?.actor, "name"], reason: [input?.reason, "text"] }, SET_VALUE);
    const previous = await this.getValue(input);
    await this.setFlag({
      key: input.key,
      newValue: input.value,
      tenantId: input.tenantId ?? null,
      actorUserId: input.actor,
      reason: input.reason,
    });
    return { previous };
  }

  async clearValue(input: { key: string; tenantId?: TenantKey; actor: string; reason: string }): Promise<void> {
    checkStorableFields({ actor: [input?.actor, "name"], reason: [input?.reason, "text"] }, CLEAR_VALUE);
    const tenantId = input.tenantId ?? null;
    await this.mutate({ key: input.key, tenantId }, { actor: input.actor, reason: input.reason, op: "clear" }, (current) =>
      current ? null : NO_CHANGE,
    );
  }

  // ---------------------------------------------------------------- internals

  /** The tenants with an override of `key`, read from the store (page by page), not the local copy. */
  private async overrideTenants(key: string): Promise<Set<string>> {
    const tenants = new Set<string>();
    for await (const page of streamFlagSnapshot(this.store, this.env))
      for (const r of page) if (r.key === key && r.tenantId !== null) tenants.add(r.tenantId);
    return tenants;
  }

  private expectedType(key: string): FlagType | null {
    return this.options.definitions?.[key]?.type ?? this.state.configOf(key)?.type ?? null;
  }

  private configFromDefinition(key: string): FlagConfig {
    const def = this.options.definitions?.[key];
    if (!def) throw new NotFoundError(`[ops/flags] flag "${key}" does not exist in ${this.env} and has no definition`);
    return this.newConfig(key, def.default as JsonValue);
  }

  private newConfig(key: string, value: JsonValue): FlagConfig {
    const def = this.options.definitions?.[key];
    return {
      type: def?.type ?? inferType(value),
      enabled: true,
      value,
      rules: [],
      ...(def?.description ? { description: def.description } : {}),
      ...(def?.owner ? { owner: def.owner } : {}),
      ...(def?.expiresAt ? { expiresAt: def.expiresAt } : {}),
    };
  }

  private parseStored(key: string, rec: FlagRecord): FlagConfig {
    const parsed = FlagConfigSchema.safeParse(rec.config);
    if (parsed.success) return parsed.data;
    throw new ValidationError(`[ops/flags] stored config of flag "${key}" is malformed; fix it with updateFlag on a valid base`, []);
  }

  /** Full validation of a config about to be written: schema, value types, compilable conditions. */
  private validated(key: string, config: FlagConfig): FlagConfig {
    const parsed = parseInput(FlagConfigSchema, config, { pkg: "flags", what: `config of flag "${key}"` });
    const segments = this.state.segmentConfigs();
    compileFlag({ key, config: parsed, overrides: new Map(), segments, offDefault: parsed.value });
    if (parsed.prerequisites !== undefined) checkPrerequisiteCycles(key, parsed, (k) => this.state.configOf(k));
    return parsed;
  }

  private async patch(key: string, patch: FlagPatch, actor: string, reason: string, op: Op, expectedVersion?: number): Promise<FlagRecord> {
    const clean = parseInput(FlagPatchSchema, patch, { pkg: "flags", what: "patch" });
    const rec = await this.mutate({ key, tenantId: null }, { actor, reason, op, expectedVersion }, (current) => {
      const base = current ? this.parseStored(key, current) : this.configFromDefinition(key);
      return this.validated(key, applyPatch(base, clean));
    });
    return rec!;
  }

  /**
   * Read-modify-write with compare-and-set. `fn` sees the freshly read record and returns the
   * next config, null to delete, or NO_CHANGE. On a lost race it re-reads and re-applies `fn`,
   * so concurrent changes compose instead of overwriting each other. Audits after the write.
   */
  private async mutate(
    at: { key: string; tenantId: TenantKey },
    how: {
      actor: string;
      reason: string;
      op: Op;
      expectedVersion?: number | null | undefined;
      meta?: Record<string, JsonValue>;
      audit?: boolean;
      /** Set by approved change requests and the emergency kill switch: skips the approval policy. */
      bypass?: boolean;
    },
    fn: (current: FlagRecord | null) => JsonValue | null | typeof NO_CHANGE,
  ): Promise<FlagRecord | null> {
    if (this.options.requireApproval && !how.bypass && how.op !== "usage" && how.op !== "scheduled-apply")
      throw new ApprovalRequiredError(
        `[ops/flags] flag "${at.key}": changes in ${this.env} need an approved change request (requireApproval); use FlagChangeRequests.propose`,
      );
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = await this.store.get({ env: this.env, ...at });
      if (how.expectedVersion !== undefined && (current?.version ?? null) !== how.expectedVersion)
        throw new ConflictError(
          `[ops/flags] flag "${at.key}" is at version ${current?.version ?? "(absent)"}, expected ${how.expectedVersion}`,
        );
      const next = fn(current);
      if (next === NO_CHANGE) return null;
      if (next === null && !current) return null;
      // Everything the write stores is built and checked BEFORE the write: the flag, its audit
      // entry (refused input changes nothing, #23).
      const entry: AuditSinkEntry | null =
        how.audit !== false && this.options.audit
          ? {
              action: "FLAG_CHANGE",
              actor: { id: how.actor, type: how.op === "scheduled-apply" ? "system" : "user" },
              tenantId: at.tenantId,
              target: { id: at.key, type: at.key.startsWith(SEGMENT_PREFIX) ? "flag_segment" : "feature_flag" },
              outcome: "success",
              reason: how.reason,
              meta: {
                env: this.env,
                key: at.key,
                operation: how.op,
                ...auditChange(current?.config ?? null, next),
                version: next === null ? 0 : (current?.version ?? 0) + 1,
                ...(how.meta ?? {}),
              },
            }
          : null;
      const effects: PendingEffect[] = entry && this.relay ? [auditEffect(entry, new Date(this.clock.now()).toISOString())] : [];
      if (entry) checkAuditEntry(entry, effects);
      let written: FlagRecord | null = null;
      try {
        if (next === null) {
          await this.store.delete({
            env: this.env,
            ...at,
            expectedVersion: current!.version,
            ...(effects.length > 0 ? { effects } : {}),
          });
        } else
          written = await this.store.put({
            env: this.env,
            ...at,
            config: next,
            expectedVersion: current?.version ?? null,
            actor: how.actor,
            ...(effects.length > 0 ? { effects } : {}),
          });
      } catch (err) {
        const lostRace = err instanceof ConflictError || (err instanceof NotFoundError && next === null);
        if (lostRace && how.expectedVersion === undefined) {
          // Jittered backoff spreads retrying writers out, so each round has fewer contenders.
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
          continue;
        }
        throw err;
      }
      if (this.state.apply(at, written)) this.changed([at.key]);
      this.armSchedule();
      if (effects.length > 0) {
        // Committed with the flag: the relay appends it now; on failure it stays stored and is
        // retried (here, by any other process's relay, or at the next start). Never rejects.
        await this.relay!.deliver(effects.map((e) => e.id));
      } else if (entry) {
        if (written) (entry.meta as Record<string, JsonValue>).version = written.version;
        await this.audited(entry);
      }
      return written;
    }
    throw new ConflictError(`[ops/flags] flag "${at.key}": gave up after ${this.maxAttempts} compare-and-set attempts under contention`);
  }

  /**
   * Audit entries still waiting because the sink rejected them (oldest first). They are retried in
   * order on every refresh and every write; `retryAudits()` retries now.
   */
  pendingAudits(): number {
    return this.auditQueue.length;
  }

  /** Retries the waiting audit entries in order, stopping at the first that fails. Never throws. */
  retryAudits(): Promise<void> {
    if (this.auditDraining !== null) return this.auditDraining;
    const run = async () => {
      while (this.auditQueue.length > 0) {
        try {
          await this.options.audit!.record(this.auditQueue[0]!);
        } catch (err) {
          this.onError(err, { operation: "audit", key: String(this.auditQueue[0]!.target?.id ?? "") });
          return;
        }
        this.auditQueue.shift();
      }
    };
    this.auditDraining = run().finally(() => (this.auditDraining = null));
    return this.auditDraining;
  }

  /**
   * Records the audit entry of a committed write. The write stands whatever the sink does: a
   * rejected entry waits (in order, behind older ones) and is retried, so the caller's write never
   * rejects because its audit entry could not be written yet.
   */
  private async audited(entry: AuditSinkEntry): Promise<void> {
    this.auditQueue.push(entry);
    await this.retryAudits();
    // A drain already in flight may have missed the entry pushed meanwhile: one more pass.
    if (this.auditQueue.includes(entry) && !this.auditDraining) await this.retryAudits();
  }

  private armSchedule(): void {
    if (this.closed) return;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
    const next = nextScheduledAt([...this.state.globals.keys()].map((k) => this.state.configOf(k)));
    if (next === null) return;
    // A due change that keeps failing is retried each second, never in a tight loop.
    const delay = Math.min(Math.max(1000, next - this.clock.now()), 2_147_483_647);
    this.scheduleTimer = setTimeout(() => {
      this.applyDueChanges().catch((err: unknown) => this.onError(err, { operation: "schedule" }));
    }, delay);
    this.scheduleTimer.unref?.();
  }
}

const NO_CHANGE: unique symbol = Symbol("no change");

/** Where a caller's field lands in a FLAG_CHANGE entry: the error names the caller's field. */
const ENTRY_FIELDS: ReadonlyArray<[RegExp, string]> = [
  [/^(effects\[0\]\.payload|entry)\.reason/, "reason"],
  [/^(effects\[0\]\.payload|entry)\.actor/, "actorUserId"],
  [/^(effects\[0\]\.payload|entry)\.meta\.after/, "value"],
  [/^(effects\[0\]\.payload|entry)\.meta/, "meta"],
];

/**
 * Checks a FLAG_CHANGE entry (and its effect) with the storable-text rules of the effect store,
 * before the flag is written. @throws ValidationError naming the caller's field
 */
function checkAuditEntry(entry: AuditSinkEntry, effects: readonly PendingEffect[]): void {
  try {
    checkEffects("flags", effects.length > 0 ? effects : [auditEffect(entry, new Date(0).toISOString(), "check")]);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const path = err.issues[0]?.path ?? "";
    const field = ENTRY_FIELDS.find(([re]) => re.test(path))?.[1] ?? path;
    const message = err.issues[0]?.message ?? "invalid";
    throw new ValidationError(`[ops/flags] invalid ${field}: ${message}`, [{ path: field, message }]);
  }
}
