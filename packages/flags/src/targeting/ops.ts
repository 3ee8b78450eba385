/** Every condition operator. Missing or wrongly typed attributes never match (also for neq / notIn). */
export const CONDITION_OPS = [
  "eq",
  "neq",
  "in",
  "notIn",
  "contains",
  "startsWith",
  "endsWith",
  "matches",
  "gt",
  "gte",
  "lt",
  "lte",
  "semverEq",
  "semverGt",
  "semverGte",
  "semverLt",
  "semverLte",
  "before",
  "after",
  "inCidr",
] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];
