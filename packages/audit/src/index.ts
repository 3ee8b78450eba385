export { AUDIT_ACTIONS, defineAuditActions, isUniversalAuditAction, type AuditAction, type AuditActionSet, type UniversalAuditAction } from "./actions.js";
export { makeAuditEntry, checkMetaSize, AuditEntryInputSchema, DEFAULT_MAX_META_BYTES, type AuditEntry, type AuditEntryInput } from "./entry.js";
export { auditMetaSafe, createRedactor, redactString, isSecretKey, REDACTED, type RedactOptions } from "./redact.js";
export { GENESIS_HASH, auditHashInput, canonicalJson, computeAuditHash, sha256Hex, type HashedFields } from "./encoding.js";
export { ChainVerifier, verifyStoreChain, type ChainAnchor, type ChainProblem, type TamperKind, type VerifyResult } from "./verify.js";
export { chainOn, type ChainableEntry } from "./chain-writer.js";
export { macHasher, checkEntryHash, isKeyedHash, type MacKey, type AuditHasher } from "./mac.js";
export { type BufferOptions, type OverflowPolicy } from "./group-commit.js";
export { createAuditLog, envFromNodeEnv, unsealAll, type AuditLog, type AuditLogOptions, type AuditReadOptions, type ForgetReport, type CheckpointOptions } from "./log.js";
export { parseQuery, type AuditQueryInput } from "./query.js";
export { DEFAULT_PERSONAL_FIELDS, ERASED, sealEntry, sealedParts, unsealRecord, type AuditEntryView } from "./shred.js";
export {
  checkpointAnchors,
  checkpointKeyId,
  checkpointProof,
  verifyCheckpointProof,
  verifyCheckpointLog,
  type CheckpointLogResult,
  type CheckpointProof,
  checkpointSigningInput,
  generateCheckpointKeys,
  publicKeyOf,
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointHead,
  type CheckpointPayload,
  type KeyInput,
  type SignedCheckpoint,
} from "./checkpoint.js";
export type { CheckpointSink } from "./sinks/types.js";
export { fileCheckpointSink, type FileCheckpointSink } from "./sinks/file.js";
export { webhookCheckpointSink, type WebhookSinkOptions } from "./sinks/webhook.js";
export { objectStorageCheckpointSink, checkpointObjectKey, type ObjectStorageSinkOptions } from "./sinks/object-storage.js";
export { exportJsonl, exportCsv, exportTrailerSigningInput, EXPORT_FORMAT, type ExportInput, type ExportHeader, type ExportTrailer, type CsvTrailer } from "./export.js";
export { CSV_COLUMNS, CSV_TRAILER_MARK } from "./csv.js";
export { merkleRoot, merkleProof, rootFromProof, leafHash } from "./merkle.js";
export { verifyExport, type ExportProblem, type ExportProblemKind, type ExportVerifyResult, type VerifyExportOptions } from "./verify-export.js";
