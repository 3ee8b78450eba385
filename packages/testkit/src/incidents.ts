import type { IncidentStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns IncidentStore.
export function incidentStoreCases(_opts: ConformanceOptions<IncidentStore>): ConformanceCase[] {
  return [];
}

export function describeIncidentStoreConformance(opts: ConformanceOptions<IncidentStore>): void {
  registerCases(`${opts.name}: IncidentStore conformance`, incidentStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
