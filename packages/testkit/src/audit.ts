import type { AuditStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns AuditStore.
export function auditStoreCases(_opts: ConformanceOptions<AuditStore>): ConformanceCase[] {
  return [];
}

export function describeAuditStoreConformance(opts: ConformanceOptions<AuditStore>): void {
  registerCases(`${opts.name}: AuditStore conformance`, auditStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
