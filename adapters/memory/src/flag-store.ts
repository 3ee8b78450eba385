import { UnsupportedError, type FlagStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns FlagStore).
export class MemoryFlagStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryFlagStore is not implemented yet");
  }
}
export type _MemoryFlagStoreContract = FlagStore;
