import * as z from "zod";
import {
  ConflictError,
  NotFoundError,
  parseInput,
  prefixedId,
  systemClock,
  type AuditSink,
  type AuditSinkEntry,
  type ChangeRequestRecord,
  type ChangeRequestStatus,
  type ChangeRequestStore,
  type Clock,
  type JsonObject,
  type JsonValue,
  type Page,
} from "@ops/core";
import { auditChange } from "../audit-change.js";
import type { FeatureFlagController } from "../controller.js";
import type { FlagDefinitions } from "../define-flags.js";
import { FlagChangeSchema, type FlagChange, type PlannedChange } from "./change.js";
import { ApprovalRequiredError } from "./errors.js";

const Actor = z.string().min(1, "expected a non-empty actor id").max(256);
const Reason = z.string().trim().min(1, "expected a reason for the change").max(2000);
const ProposeInput = z.object({ key: z.string().min(1).max(200), change: FlagChangeSchema, actorUserId: Actor, reason: Reason }).strict();
const ReviewInput = z.object({ id: z.string().min(1).max(200), actorUserId: Actor, note: z.string().max(2000).optional() }).strict();
const RejectInput = z.object({ id: z.string().min(1).max(200), actorUserId: Actor, note: Reason }).strict();

export interface FlagChangeRequestsOptions<D extends FlagDefinitions = FlagDefinitions> {
  /** The controller of the environment the requests change. */
  controller: FeatureFlagController<D>;
  store: ChangeRequestStore;
  /** Every step (requested, approved, rejected, cancelled, conflict, emergency bypass) is recorded here. */
  audit?: AuditSink;
  clock?: Clock;
  /** Told when an audit entry could not be recorded (the state change itself stands). */
  onError?: (error: unknown) => void;
}

/**
 * Four-eyes changes: an author proposes a change (stored with the config it would write and the
 * flag version it was planned on); another principal approves it — applied with compare-and-set
 * at that version — or rejects it. Pair with `requireApproval: true` on the controller so direct
 * writes are refused in that environment.
 */
export class FlagChangeRequests<D extends FlagDefinitions = FlagDefinitions> {
  private readonly controller: FeatureFlagController<D>;
  private readonly store: ChangeRequestStore;
  private readonly clock: Clock;

  constructor(private readonly options: FlagChangeRequestsOptions<D>) {
    this.controller = options.controller;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
  }

  get env(): string {
    return this.controller.env;
  }

  /**
   * Records a proposed change (status `pending`). The change is validated now, against the flag as
   * it is; nothing is written to the flag.
   * @throws ValidationError (bad change, wrong value type; nothing stored), NotFoundError
   */
  async propose(input: { key: string; change: FlagChange; actorUserId: string; reason: string }): Promise<ChangeRequestRecord> {
    const p = parseInput(ProposeInput, input, { pkg: "flags", what: "propose input" });
    const plan = await this.controller.planChange(p.key, p.change as FlagChange);
    const request = await this.store.create({
      request: {
        id: prefixedId("cr", this.clock.now()),
        env: this.env,
        key: plan.key,
        tenantId: plan.tenantId,
        kind: plan.op,
        config: plan.config,
        change: p.change as JsonValue,
        baseVersion: plan.baseVersion,
        author: p.actorUserId,
        reason: p.reason,
      },
    });
    const current = await this.controller.getValueRecord(plan.key, plan.tenantId);
    await this.audit("FLAG_CHANGE_REQUESTED", p.actorUserId, request, p.reason, { ...auditChange(current, plan.config) } as JsonObject);
    return request;
  }

  /**
   * Approves and applies a pending request. The approver must not be its author. The change is
   * written only if the flag is still at the version it was proposed on; otherwise the request
   * ends as `conflict` and this throws.
   * @throws ApprovalRequiredError (the author approving), NotFoundError, ConflictError (already
   * reviewed, or the flag moved since the proposal)
   */
  async approve(input: { id: string; actorUserId: string; note?: string }): Promise<ChangeRequestRecord> {
    const p = parseInput(ReviewInput, input, { pkg: "flags", what: "approve input" });
    const cr = await this.mustGet(p.id);
    if (cr.author === p.actorUserId)
      throw new ApprovalRequiredError(
        `[ops/flags] change request ${cr.id}: the author (${cr.author}) cannot approve it; another principal must`,
      );
    // Only a pending request: letting a second reviewer re-enter an `approved` one (to finish an
    // interrupted apply) races the first reviewer's apply. A request left `approved` by a crash
    // between the claim and the write is proposed again.
    if (cr.status !== "pending") throw new ConflictError(`[ops/flags] change request ${cr.id} is ${cr.status}, not pending`);
    // Claim it: of two reviewers acting at once, exactly one gets past this write.
    const claimed = await this.store.update({
      env: this.env,
      id: cr.id,
      expectedVersion: cr.version,
      patch: { status: "approved", reviewer: p.actorUserId, ...(p.note !== undefined ? { reviewNote: p.note } : {}) },
    });
    const plan: PlannedChange = {
      key: cr.key,
      tenantId: cr.tenantId,
      baseVersion: cr.baseVersion,
      config: cr.config,
      op: cr.kind as PlannedChange["op"],
    };
    let written;
    try {
      written = await this.controller.applyPlannedChange(plan, {
        actor: p.actorUserId,
        reason: cr.reason,
        meta: { changeRequestId: cr.id, author: cr.author, approvedBy: p.actorUserId },
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const failed = await this.store.update({ env: this.env, id: cr.id, expectedVersion: claimed.version, patch: { status: "conflict" } });
      await this.audit("FLAG_CHANGE_REQUEST_CONFLICT", p.actorUserId, failed, cr.reason, { message: err.message }, "failure");
      throw new ConflictError(
        `[ops/flags] change request ${cr.id}: flag "${cr.key}" changed since the proposal (proposed on version ${cr.baseVersion ?? "absent"}); propose it again`,
        { cause: err },
      );
    }
    const done = await this.store.update({
      env: this.env,
      id: cr.id,
      expectedVersion: claimed.version,
      patch: { status: "applied", appliedVersion: written?.version ?? 0 },
    });
    await this.audit("FLAG_CHANGE_REQUEST_APPROVED", p.actorUserId, done, cr.reason, {
      appliedVersion: done.appliedVersion,
      ...(p.note ? { note: p.note } : {}),
    });
    return done;
  }

  /**
   * Rejects a pending request (any principal but its author; the author cancels instead).
   * @throws ApprovalRequiredError, NotFoundError, ConflictError (not pending any more)
   */
  async reject(input: { id: string; actorUserId: string; note: string }): Promise<ChangeRequestRecord> {
    const p = parseInput(RejectInput, input, { pkg: "flags", what: "reject input" });
    const cr = await this.mustGet(p.id);
    if (cr.author === p.actorUserId)
      throw new ApprovalRequiredError(`[ops/flags] change request ${cr.id}: its author cancels it rather than rejecting it`);
    return this.close(cr, "rejected", p.actorUserId, p.note, "FLAG_CHANGE_REQUEST_REJECTED");
  }

  /** Withdraws a pending request; only its author can. @throws ApprovalRequiredError, NotFoundError, ConflictError */
  async cancel(input: { id: string; actorUserId: string; note?: string }): Promise<ChangeRequestRecord> {
    const p = parseInput(ReviewInput, input, { pkg: "flags", what: "cancel input" });
    const cr = await this.mustGet(p.id);
    if (cr.author !== p.actorUserId) throw new ApprovalRequiredError(`[ops/flags] change request ${cr.id}: only its author can cancel it`);
    return this.close(cr, "cancelled", p.actorUserId, p.note ?? "cancelled by author", "FLAG_CHANGE_REQUEST_CANCELLED");
  }

  /**
   * The emergency kill switch: disables the flag at once, without approval, and records an
   * `FLAG_APPROVAL_BYPASSED` audit entry next to the change itself.
   */
  async emergencyDisable(input: { key: string; actorUserId: string; reason: string }) {
    const rec = await this.controller.emergencyDisable(input);
    await this.emit({
      action: "FLAG_APPROVAL_BYPASSED",
      actor: { id: input.actorUserId, type: "user" },
      target: { id: input.key, type: "feature_flag" },
      outcome: "success",
      reason: input.reason,
      meta: { env: this.env, key: input.key, operation: "disable", bypass: "emergency", version: rec.version },
    });
    return rec;
  }

  async get(id: string): Promise<ChangeRequestRecord | null> {
    return this.store.get({ env: this.env, id });
  }

  async list(
    input: { statuses?: readonly ChangeRequestStatus[]; key?: string; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<ChangeRequestRecord>> {
    return this.store.list({ env: this.env, ...input });
  }

  private async mustGet(id: string): Promise<ChangeRequestRecord> {
    const cr = await this.store.get({ env: this.env, id });
    if (!cr) throw new NotFoundError(`[ops/flags] change request ${id} not found in ${this.env}`);
    return cr;
  }

  private async close(
    cr: ChangeRequestRecord,
    status: ChangeRequestStatus,
    actor: string,
    note: string,
    action: string,
  ): Promise<ChangeRequestRecord> {
    if (cr.status !== "pending") throw new ConflictError(`[ops/flags] change request ${cr.id} is ${cr.status}, not pending`);
    const next = await this.store.update({
      env: this.env,
      id: cr.id,
      expectedVersion: cr.version,
      patch: { status, reviewer: actor, reviewNote: note },
    });
    await this.audit(action, actor, next, note, {});
    return next;
  }

  private audit(
    action: string,
    actor: string,
    cr: ChangeRequestRecord,
    reason: string,
    meta: JsonObject,
    outcome: "success" | "failure" = "success",
  ): Promise<void> {
    return this.emit({
      action,
      actor: { id: actor, type: "user" },
      tenantId: cr.tenantId,
      target: { id: cr.key, type: "feature_flag" },
      outcome,
      reason,
      meta: {
        env: this.env,
        key: cr.key,
        changeRequestId: cr.id,
        kind: cr.kind,
        status: cr.status,
        author: cr.author,
        baseVersion: cr.baseVersion,
        ...meta,
      },
    });
  }

  private async emit(entry: AuditSinkEntry): Promise<void> {
    // The state change is committed: a failing audit sink is reported, never turned into a failed call.
    await this.options.audit?.record(entry).catch((err: unknown) => this.options.onError?.(err));
  }
}
