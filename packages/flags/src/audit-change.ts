import { createHash } from "node:crypto";
import type { JsonObject, JsonValue } from "@ops/core";

/**
 * Budget for `before` + `after` in a FLAG_CHANGE entry. Audit logs cap `meta` (16 KiB by default
 * in @ops/audit): a flag with a long `in` list would otherwise make every audited write of it
 * (the kill switch too) reject after the store write, and leave no audit entry at all.
 */
const BUDGET = 8 * 1024;

function size(v: JsonValue): number {
  return JSON.stringify(v)?.length ?? 0;
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function digest(v: JsonValue): JsonValue {
  const json = JSON.stringify(v) ?? "null";
  return { $digest: `sha256:${createHash("sha256").update(json).digest("hex")}`, bytes: Buffer.byteLength(json) };
}

/**
 * `before` and `after` for the audit entry: as they are when small; else only the top-level
 * fields that changed; values still too large are replaced by their SHA-256 digest (the full
 * config stays in the store, at the version the entry names).
 */
export function auditChange(before: JsonValue, after: JsonValue): { before: JsonValue; after: JsonValue; abridged?: true } {
  if (size(before) + size(after) <= BUDGET) return { before, after };
  if (!isObject(before) || !isObject(after))
    return {
      before: size(before) > BUDGET / 2 ? digest(before) : before,
      after: size(after) > BUDGET / 2 ? digest(after) : after,
      abridged: true,
    };
  const b: JsonObject = {};
  const a: JsonObject = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const x = before[k];
    const y = after[k];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if (x !== undefined) b[k] = x;
    if (y !== undefined) a[k] = y;
  }
  if (size(b) + size(a) > BUDGET)
    for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (b[k] !== undefined && size(b[k]!) > BUDGET / 8) b[k] = digest(b[k]!);
      if (a[k] !== undefined && size(a[k]!) > BUDGET / 8) a[k] = digest(a[k]!);
    }
  return { before: b, after: a, abridged: true };
}
