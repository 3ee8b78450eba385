import { AUDIT_ACTIONS, AuditActionSchema, ValidationError, type UniversalAuditAction } from "@ops/core";

export { AUDIT_ACTIONS, type UniversalAuditAction };

/** Any action a log accepts: the universal set plus the app's own `A`. */
export type AuditAction<A extends string = never> = UniversalAuditAction | A;

/** A set of app-defined actions, checked once, to hand to `createAuditLog({ actions })`. */
export interface AuditActionSet<A extends string> {
  readonly actions: readonly A[];
  /** True for a universal action or one of this set. */
  has(action: string): action is AuditAction<A>;
}

const UNIVERSAL: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** True for one of the universal actions (`AUTH_LOGIN`, `DATA_EXPORT`, ...). */
export function isUniversalAuditAction(action: string): action is UniversalAuditAction {
  return UNIVERSAL.has(action);
}

/**
 * Declares app-defined actions so they stay type-safe:
 * `const actions = defineAuditActions(["INVOICE_PAID", "INVOICE_VOIDED"] as const)`, then
 * `createAuditLog({ store, actions })` accepts `"INVOICE_PAID"` and rejects typos at compile time.
 * @throws ValidationError when an action is not UPPER_SNAKE_CASE (1-64 characters).
 */
export function defineAuditActions<const A extends string>(actions: readonly A[]): AuditActionSet<A> {
  actions.forEach((a, i) => {
    if (!AuditActionSchema.safeParse(a).success)
      throw new ValidationError(`[ops/audit] invalid actions[${i}]: expected an UPPER_SNAKE_CASE action such as "INVOICE_PAID"`, [
        { path: `actions[${i}]`, message: "expected an UPPER_SNAKE_CASE action" },
      ]);
  });
  const own: ReadonlySet<string> = new Set(actions);
  return {
    actions: [...actions],
    has: (action: string): action is AuditAction<A> => UNIVERSAL.has(action) || own.has(action),
  };
}
