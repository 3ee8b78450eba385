import { SEVERITIES, type Severity } from "@ops/core";

/** The more severe of two severities. */
export function maxSeverity(a: Severity, b: Severity | undefined): Severity {
  if (!b) return a;
  return SEVERITIES.indexOf(a) <= SEVERITIES.indexOf(b) ? a : b;
}

/** A number from a metrics snapshot, or 0. */
export function metric(m: Record<string, unknown>, key: string): number {
  const v = m[key];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

export function toMs(t: string | number | Date | undefined, fallback: number): number {
  if (t === undefined) return fallback;
  if (typeof t === "number") return t;
  return t instanceof Date ? t.getTime() : Date.parse(t);
}

/** Seed severity guess (1..4) for a Severity. */
export function guessFromSeverity(s: Severity): number {
  return s === "critical" ? 1 : s === "high" ? 2 : s === "medium" ? 3 : 4;
}
