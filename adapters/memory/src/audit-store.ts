import { UnsupportedError, type AuditStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns AuditStore).
export class MemoryAuditStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryAuditStore is not implemented yet");
  }
}
export type _MemoryAuditStoreContract = AuditStore;
