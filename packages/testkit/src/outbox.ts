import type { OutboxStore } from "@ops/core";
import { registerCases, type ConformanceCase, type ConformanceOptions } from "./conformance.js";

// PLACEHOLDER: the full suite comes with the issue that owns OutboxStore.
export function outboxStoreCases(_opts: ConformanceOptions<OutboxStore>): ConformanceCase[] {
  return [];
}

export function describeOutboxStoreConformance(opts: ConformanceOptions<OutboxStore>): void {
  registerCases(`${opts.name}: OutboxStore conformance`, outboxStoreCases(opts), opts.capabilities ?? {}, opts.timeout);
}
