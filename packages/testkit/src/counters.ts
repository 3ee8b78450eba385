import type { CounterStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns CounterStore.
export function counterStoreCases(_opts: ConformanceOptions<CounterStore>): ConformanceCase[] {
  return [];
}

export function describeCounterStoreConformance(opts: ConformanceOptions<CounterStore>): void {
  registerCases(`${opts.name}: CounterStore conformance`, counterStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
