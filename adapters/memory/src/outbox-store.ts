import { UnsupportedError, type OutboxStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns OutboxStore).
export class MemoryOutboxStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryOutboxStore is not implemented yet");
  }
}
export type _MemoryOutboxStoreContract = OutboxStore;
