import { UnsupportedError, type IncidentStore } from "@ops/core";
import { MemoryStoreBase } from "./base.js";

// PLACEHOLDER: replaced by the full implementation (see the issue that owns IncidentStore).
export class MemoryIncidentStore extends MemoryStoreBase {
  notYet(): never {
    throw new UnsupportedError("[ops/adapter-memory] MemoryIncidentStore is not implemented yet");
  }
}
export type _MemoryIncidentStoreContract = IncidentStore;
