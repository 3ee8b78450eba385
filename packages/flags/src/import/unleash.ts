import type { Condition, Prerequisite, Rule } from "../config.js";
import { csv, type ImportResult, type ImportedFlag, type Unmapped } from "./result.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const NUM = { NUM_EQ: "eq", NUM_GT: "gt", NUM_GTE: "gte", NUM_LT: "lt", NUM_LTE: "lte" } as const;
const STR = { STR_CONTAINS: "contains", STR_STARTS_WITH: "startsWith", STR_ENDS_WITH: "endsWith" } as const;
const SEMVER = { SEMVER_EQ: "semverEq", SEMVER_GT: "semverGt", SEMVER_LT: "semverLt" } as const;

/** Unleash's context fields are flat in @ops (custom fields live in `properties` there). */
function attrOf(contextName: string): string {
  return contextName.startsWith("properties.") ? contextName.slice(11) : contextName;
}

function constraint(c: Obj, path: string, flag: string, out: Unmapped[]): Condition | null {
  const attr = attrOf(String(c.contextName ?? ""));
  const op = String(c.operator ?? "");
  const values = arr(c.values).map(String);
  const value = typeof c.value === "string" ? c.value : values[0];
  const inverted = c.inverted === true;
  const miss = (reason: string) => (out.push({ flag, path, reason }), null);
  if (!attr) return miss("constraint without contextName");
  if (op === "IN" || op === "NOT_IN") {
    const negate = (op === "NOT_IN") !== inverted;
    return { attr, op: negate ? "notIn" : "in", values };
  }
  if (inverted) return miss(`inverted ${op} has no @ops operator`);
  if (op in STR) {
    if (c.caseInsensitive === true) return miss(`caseInsensitive ${op} is not supported`);
    if (values.length !== 1) return miss(`${op} with ${values.length} values (an OR) is not supported in one condition`);
    return { attr, op: STR[op as keyof typeof STR], value: values[0]! };
  }
  if (op in NUM) {
    const n = Number(value);
    if (!Number.isFinite(n)) return miss(`${op} value ${String(value)} is not a number`);
    return { attr, op: NUM[op as keyof typeof NUM], value: n };
  }
  if (op === "DATE_AFTER" || op === "DATE_BEFORE") return { attr, op: op === "DATE_AFTER" ? "after" : "before", value: String(value) };
  if (op in SEMVER) return { attr, op: SEMVER[op as keyof typeof SEMVER], value: String(value) };
  return miss(`operator ${op} is not supported`);
}

/**
 * Imports Unleash feature definitions: the client features payload (`/api/client/features`, also
 * unleash-client's bootstrap format: `{ features: [...] }` or an array) or an admin export
 * (`/api/admin/features-batch/export`: `features` + `featureStrategies` + `featureEnvironments`,
 * for one `environment`). Each flag is a boolean with Unleash's `isEnabled` semantics: strategies
 * become rules in order, rollouts use the `unleash` bucketing mode (same users as Unleash).
 */
export function importUnleash(input: unknown, options: { environment?: string } = {}): ImportResult {
  const unmapped: Unmapped[] = [];
  const root = Array.isArray(input) ? { features: input } : isObj(input) ? input : {};
  const segments = new Map<number, unknown[]>();
  for (const s of arr(root.segments)) if (isObj(s) && typeof s.id === "number") segments.set(s.id, arr(s.constraints));
  let features = arr(root.features).filter(isObj);
  if (Array.isArray(root.featureStrategies)) {
    // Admin export: strategies and per-environment state live beside the features.
    const env = options.environment;
    const inEnv = (o: Obj) => env === undefined || o.environment === undefined || o.environment === env;
    features = features.map((f) => {
      const fe = arr(root.featureEnvironments)
        .filter(isObj)
        .find((e) => e.featureName === f.name && inEnv(e));
      return {
        ...f,
        enabled: fe ? fe.enabled === true : f.enabled === true,
        variants: fe?.variants ?? f.variants,
        strategies: arr(root.featureStrategies).filter((s): s is Obj => isObj(s) && s.featureName === f.name && inEnv(s)),
      };
    });
  }
  const flags: ImportedFlag[] = [];
  for (const f of features) {
    const key = String(f.name ?? "");
    if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/.test(key)) {
      unmapped.push({ flag: key, path: "name", reason: "not a valid @ops flag key; skipped" });
      continue;
    }
    const rules: Rule[] = [];
    const strategies = arr(f.strategies).filter(isObj);
    strategies.forEach((s, i) => {
      const path = `strategies[${i}]`;
      const when: Condition[] = [];
      let ok = true;
      const all = [
        ...arr(s.constraints),
        ...arr(s.segments).flatMap(
          (id) =>
            segments.get(id as number) ??
            (unmapped.push({ flag: key, path: `${path}.segments`, reason: `segment ${String(id)} not in the file` }), (ok = false), []),
        ),
      ];
      all.forEach((c, j) => {
        const cond = isObj(c) ? constraint(c, `${path}.constraints[${j}]`, key, unmapped) : null;
        if (cond) when.push(cond);
        else ok = false;
      });
      if (arr(s.variants).length > 0)
        unmapped.push({ flag: key, path: `${path}.variants`, reason: "strategy variants are not imported (the flag is isEnabled only)" });
      if (!ok) {
        unmapped.push({ flag: key, path, reason: "strategy dropped: a constraint could not be mapped" });
        return;
      }
      const p = isObj(s.parameters) ? s.parameters : {};
      const id = `s${i}`;
      const name = String(s.name ?? "");
      const rollout = (pct: unknown, by: string, groupId: unknown): Rule => ({
        id,
        when,
        segments: [],
        serve: {
          rollout: {
            by,
            percentage: Math.min(100, Math.max(0, Number(pct) || 0)),
            bucketing: { mode: "unleash", groupId: typeof groupId === "string" && groupId ? groupId : key },
          },
        },
      });
      if (name === "default") rules.push({ id, when, segments: [], serve: { value: true } });
      else if (name === "flexibleRollout") {
        const st = String(p.stickiness ?? "default");
        if (st === "random")
          return void unmapped.push({ flag: key, path, reason: "random stickiness has no deterministic equivalent; strategy dropped" });
        if (st === "default")
          unmapped.push({
            flag: key,
            path,
            reason: "default stickiness buckets by userId here (Unleash falls back to sessionId, then random, without one)",
          });
        rules.push(rollout(p.rollout, st === "default" ? "userId" : attrOf(st), p.groupId));
      } else if (name === "gradualRolloutUserId") rules.push(rollout(p.percentage, "userId", p.groupId));
      else if (name === "gradualRolloutSessionId") rules.push(rollout(p.percentage, "sessionId", p.groupId));
      else if (name === "userWithId")
        rules.push({ id, when: [...when, { attr: "userId", op: "in", values: csv(p.userIds) }], segments: [], serve: { value: true } });
      else if (name === "remoteAddress")
        rules.push({
          id,
          when: [
            ...when,
            {
              attr: "remoteAddress",
              op: "inCidr",
              values: csv(p.IPs).map((ip) => (ip.includes("/") ? ip : ip.includes(":") ? `${ip}/128` : `${ip}/32`)),
            },
          ],
          segments: [],
          serve: { value: true },
        });
      else unmapped.push({ flag: key, path, reason: `strategy ${name} is not supported; dropped` });
    });
    if (arr(f.variants).length > 0)
      unmapped.push({ flag: key, path: "variants", reason: "feature variants are not imported (the flag is isEnabled only)" });
    // Unleash dependent features: the parent must be enabled (or, with `enabled: false`, not).
    const prerequisites: Prerequisite[] = [];
    for (const [i, d] of arr(f.dependencies).entries()) {
      const path = `dependencies[${i}]`;
      if (!isObj(d) || typeof d.feature !== "string") {
        unmapped.push({ flag: key, path, reason: "expected { feature }; dependency dropped" });
        continue;
      }
      const parent = features.find((p) => p.name === d.feature);
      if (parent && arr(parent.dependencies).length > 0)
        unmapped.push({
          flag: key,
          path,
          reason: "Unleash never enables a feature whose parent has dependencies itself; evaluated transitively here",
        });
      if (arr(d.variants).length > 0)
        unmapped.push({
          flag: key,
          path: `${path}.variants`,
          reason: "parent variants are not imported; only the parent being enabled is required",
        });
      prerequisites.push(d.enabled === false ? { key: d.feature, value: true, negate: true } : { key: d.feature, value: true });
    }
    // Unleash: enabled with no strategies is on for everyone; with strategies, off unless one matches.
    const value = strategies.length === 0;
    flags.push({
      key,
      type: "boolean",
      value,
      // Unleash's constraint semantics (stringified values, NOT_IN true for a missing field, ...).
      patch: {
        semantics: "unleash",
        enabled: f.enabled === true,
        offValue: false,
        ...(prerequisites.length > 0 ? { prerequisites } : {}),
        rules,
        ...(typeof f.description === "string" && f.description ? { description: f.description.slice(0, 2000) } : {}),
      },
    });
  }
  return { source: "unleash", flags, unmapped };
}
