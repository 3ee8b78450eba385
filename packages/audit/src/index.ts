export {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditActionSet,
  defineAuditActions,
  isUniversalAuditAction,
  type UniversalAuditAction,
} from "./actions.js";
export {
  type AuditEntry,
  type AuditEntryInput,
  AuditEntryInputSchema,
  checkMetaSize,
  DEFAULT_MAX_META_BYTES,
  makeAuditEntry,
} from "./entry.js";
export { auditMetaSafe, createRedactor, isSecretKey, REDACTED, type RedactOptions, redactString } from "./redact.js";
export { auditHashInput, canonicalJson, computeAuditHash, GENESIS_HASH, type HashedFields, sha256Hex } from "./encoding.js";
export { type ChainAnchor, type ChainProblem, ChainVerifier, type TamperKind, type VerifyResult, verifyStoreChain } from "./verify.js";
export { type ChainableEntry, chainOn } from "./chain-writer.js";
export { type AuditHasher, checkEntryHash, isKeyedHash, macHasher, type MacKey } from "./mac.js";
export { type BufferOptions, type OverflowPolicy } from "./group-commit.js";
export {
  type AuditLog,
  type AuditLogOptions,
  type AuditReadOptions,
  type CheckpointOptions,
  createAuditLog,
  envFromNodeEnv,
  type ForgetReport,
  unsealAll,
} from "./log.js";
export { type AuditQueryInput, parseQuery } from "./query.js";
export { type AuditEntryView, DEFAULT_PERSONAL_FIELDS, ERASED, sealedParts, sealEntry, unsealRecord } from "./shred.js";
export {
  checkpointAnchors,
  type CheckpointHead,
  checkpointKeyId,
  type CheckpointLogResult,
  type CheckpointPayload,
  checkpointProof,
  type CheckpointProof,
  checkpointSigningInput,
  generateCheckpointKeys,
  type KeyInput,
  publicKeyOf,
  signCheckpoint,
  type SignedCheckpoint,
  verifyCheckpoint,
  verifyCheckpointLog,
  verifyCheckpointProof,
} from "./checkpoint.js";
export { type CheckpointSink } from "./sinks/types.js";
export { fileCheckpointSink, type FileCheckpointSink } from "./sinks/file.js";
export { webhookCheckpointSink, type WebhookSinkOptions } from "./sinks/webhook.js";
export { checkpointObjectKey, objectStorageCheckpointSink, type ObjectStorageSinkOptions } from "./sinks/object-storage.js";
export {
  type CsvTrailer,
  EXPORT_FORMAT,
  exportCsv,
  type ExportHeader,
  type ExportInput,
  exportJsonl,
  type ExportTrailer,
  exportTrailerSigningInput,
} from "./export.js";
export { CSV_COLUMNS, CSV_TRAILER_MARK } from "./csv.js";
export {
  type ExportProblem,
  type ExportProblemKind,
  type ExportVerifyResult,
  verifyExport,
  type VerifyExportOptions,
} from "./verify-export.js";
