import { UnsupportedError, type AuthEventStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns AuthEventStore).
export class MemoryAuthEventStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryAuthEventStore is not implemented yet");
  }
}
export type _MemoryAuthEventStoreContract = AuthEventStore;
