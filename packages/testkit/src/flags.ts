import type { FlagStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns FlagStore.
export function flagStoreCases(_opts: ConformanceOptions<FlagStore>): ConformanceCase[] {
  return [];
}

export function describeFlagStoreConformance(opts: ConformanceOptions<FlagStore>): void {
  registerCases(`${opts.name}: FlagStore conformance`, flagStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
