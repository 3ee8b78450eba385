import type { CheckpointSink } from "./types.js";
import type { SignedCheckpoint } from "../checkpoint.js";
import { ConfigError } from "@ops/core";
import { checkHttpSinkOptions, sendWithRetry } from "./http.js";

export interface ObjectStorageSinkOptions {
  /**
   * A presigned PUT URL for an object key (S3, R2, GCS XML API, MinIO...). Called per write, so
   * it can presign on demand. The URL is a credential: it never appears in errors.
   */
  presignPut: (objectKey: string) => string | Promise<string>;
  /** Object key prefix (default "audit-checkpoints/"). */
  prefix?: string;
  /**
   * Send `If-None-Match: *` so an existing object is never overwritten (S3 conditional writes);
   * default true. A 412 then fails the write instead of replacing history.
   */
  writeOnce?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
  retries?: number;
}

/** The object key a checkpoint is stored under: sortable by time, unique per signature. */
export function checkpointObjectKey(cp: SignedCheckpoint, prefix = "audit-checkpoints/"): string {
  const sig = Buffer.from(cp.signature, "base64").toString("hex").slice(0, 16);
  return `${prefix}${cp.payload.createdAt.replace(/[:.]/g, "-")}-${sig}.json`;
}

/**
 * Stores each checkpoint as a JSON object with an HTTP PUT to a presigned URL: the wire format
 * every S3-compatible store accepts. Pair it with bucket versioning or object lock (WORM).
 * @throws ConfigError for a bad option.
 */
export function objectStorageCheckpointSink(options: ObjectStorageSinkOptions): CheckpointSink {
  if (typeof options?.presignPut !== "function")
    throw new ConfigError("[ops/audit] invalid object-storage checkpoint sink options: presignPut: expected a function", [
      { path: "presignPut", message: "expected a function" },
    ]);
  checkHttpSinkOptions("object-storage", { retries: options.retries, timeoutMs: options.timeoutMs, headers: options.headers });
  return {
    name: "object-storage",
    async write(cp) {
      const body = JSON.stringify(cp);
      const url = await options.presignPut(checkpointObjectKey(cp, options.prefix));
      const headers: Record<string, string> = {
        "content-type": "application/json",
        ...(options.writeOnce === false ? {} : { "if-none-match": "*" }),
        ...options.headers,
      };
      await sendWithRetry({
        sink: "object-storage",
        request: () => ({ url, init: { method: "PUT", headers, body } }),
        retries: options.retries ?? 3,
        timeoutMs: options.timeoutMs ?? 10_000,
      });
    },
  };
}
