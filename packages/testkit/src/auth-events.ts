import type { AuthEventStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns AuthEventStore.
export function authEventStoreCases(_opts: ConformanceOptions<AuthEventStore>): ConformanceCase[] {
  return [];
}

export function describeAuthEventStoreConformance(opts: ConformanceOptions<AuthEventStore>): void {
  registerCases(`${opts.name}: AuthEventStore conformance`, authEventStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
