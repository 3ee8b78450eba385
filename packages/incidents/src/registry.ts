import { parseInput, severityFromGuess, ValidationError, type AuthIncidentType } from "@ops/core";
import { AUTH_PLAYBOOKS } from "./playbooks/index.js";
import { SpineEventSchema } from "./schemas.js";
import type { Playbook, SpineEvent, SpineResponse } from "./types.js";
import { maxSeverity } from "./util.js";

/**
 * Incident types mapped to playbooks. Immutable: `register` returns a new registry whose type
 * parameter includes the new type, so `run({ incident_type: "PAYMENT_FAILURES_SPIKE", ... })`
 * type-checks without `as any`.
 */
export class PlaybookRegistry<T extends string = AuthIncidentType> {
  private readonly playbooks: ReadonlyMap<string, Playbook>;

  /** Use `createPlaybookRegistry()`. */
  constructor(playbooks: ReadonlyMap<string, Playbook> = new Map()) {
    this.playbooks = playbooks;
  }

  /**
   * A registry with `type` handled by `playbook` (replacing an earlier one of that type).
   * @throws ValidationError when `type` is not UPPER_SNAKE_CASE or the playbook has no `respond`.
   */
  register<U extends string>(type: U, playbook: Playbook<U>): PlaybookRegistry<T | U> {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(type))
      throw new ValidationError(`[ops/incidents] invalid playbook type: expected UPPER_SNAKE_CASE, got "${type}"`, [
        { path: "type", message: "expected an UPPER_SNAKE_CASE incident type" },
      ]);
    if (typeof playbook?.respond !== "function")
      throw new ValidationError(`[ops/incidents] invalid playbook for ${type}: respond must be a function`, [
        { path: "playbook.respond", message: "expected a function" },
      ]);
    const next = new Map(this.playbooks);
    next.set(type, playbook as unknown as Playbook);
    return new PlaybookRegistry<T | U>(next);
  }

  has(type: string): type is T {
    return this.playbooks.has(type);
  }

  types(): T[] {
    return [...this.playbooks.keys()] as T[];
  }

  title(type: T): string {
    return this.playbooks.get(type)?.title ?? type;
  }

  /**
   * Runs the playbook of `event.incident_type`: synchronous and pure.
   * @throws ValidationError on a malformed event or an unregistered type (naming the field).
   */
  run<E extends T>(event: SpineEvent<E>): SpineResponse<E> {
    const e = parseInput(SpineEventSchema, event, { pkg: "incidents", what: "incident event" }) as SpineEvent<E>;
    const playbook = this.playbooks.get(e.incident_type);
    if (!playbook)
      throw new ValidationError(
        `[ops/incidents] invalid incident event: incident_type: expected a registered type (${this.types().join(", ")}), got "${e.incident_type}"`,
        [{ path: "incident_type", message: "expected a registered incident type" }],
      );
    const r = playbook.respond(e);
    const severity = maxSeverity(severityFromGuess(e.severity_guess), r.minSeverity);
    return {
      event_id: e.event_id,
      incident_type: e.incident_type,
      decision: r.decision,
      severity,
      steps: [...r.steps],
      recommended_flags: (r.recommended_flags ?? []).map((f) => ({ ...f })),
      rollback_plan: [...(r.rollback_plan ?? [])],
      runbook: r.runbook ?? {
        title: playbook.title,
        summary: r.decision,
        sections: [{ heading: "Steps", items: [...r.steps] }],
        references: [],
      },
      post_mitigation_checks: [...(r.post_mitigation_checks ?? [])],
    };
  }
}

/** A registry holding the 8 universal auth playbooks; `register` your own types on it. */
export function createPlaybookRegistry(): PlaybookRegistry<AuthIncidentType> {
  return new PlaybookRegistry<AuthIncidentType>(new Map(Object.entries(AUTH_PLAYBOOKS)));
}

const defaultRegistry = createPlaybookRegistry();

/**
 * The response plan for one auth incident (decision, steps, recommended_flags,
 * rollback_plan, plus severity, runbook and post_mitigation_checks). Synchronous and pure.
 * @throws ValidationError on a malformed event or an unknown incident type.
 */
export function runAuthOpsSpine<E extends AuthIncidentType>(event: SpineEvent<E>): SpineResponse<E> {
  return defaultRegistry.run(event);
}
