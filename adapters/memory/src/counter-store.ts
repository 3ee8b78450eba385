import { UnsupportedError, type CounterStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns CounterStore).
export class MemoryCounterStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryCounterStore is not implemented yet");
  }
}
export type _MemoryCounterStoreContract = CounterStore;
