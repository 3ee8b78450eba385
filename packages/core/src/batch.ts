import { OpsError } from "./errors.js";

/**
 * True when a store refused a write for what it holds (a value it cannot store, a key that exists,
 * a refused statement): an `OpsError` that is not `retryable`. Sending the same record again cannot
 * succeed. A lost connection or a timeout (retryable) is not a rejection: the batch waits.
 */
export function isRejection(err: unknown): boolean {
  return err instanceof OpsError && !err.retryable;
}

/** A record a store rejected, with why (`reason`: the error's code and message, no values). */
export interface RejectedRecord<T> {
  record: T;
  error: unknown;
  reason: string;
}

/** What `writeIsolated` did with a batch. */
export interface IsolatedWrite<T> {
  /** Records stored. */
  stored: number;
  /** Records the store rejected on their own (dead letters: never retried). */
  rejected: Array<RejectedRecord<T>>;
  /** Records not written because the store was unavailable (retry them later), in order. */
  pending: T[];
  /** The first error that left records pending. */
  error?: unknown;
}

/** The code and message of a rejection, for a log line or dead letter (messages of @ops errors carry no values). */
export function rejectionReason(err: unknown): string {
  if (err instanceof OpsError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.name : "unknown error";
}

/**
 * Writes `records` with `write` (one call per batch, all or nothing), isolating bad records: when
 * the store rejects a batch (`isRejection`), the batch is split in halves and each half written
 * on its own, down to the single record the store refuses, which is returned as rejected. The
 * other records are stored in about 2 log2(n) extra calls per bad record. A retryable error
 * (the store is down) stops: what is left is returned as `pending`, for a later attempt.
 * `write` must be atomic per call (one statement, one transaction or one script), or idempotent.
 */
export async function writeIsolated<T>(
  records: readonly T[],
  write: (batch: T[]) => Promise<void>,
  options: { isRejection?: (err: unknown) => boolean } = {},
): Promise<IsolatedWrite<T>> {
  const rejects = options.isRejection ?? isRejection;
  const out: IsolatedWrite<T> = { stored: 0, rejected: [], pending: [] };
  const stack: T[][] = records.length > 0 ? [records.slice()] : [];
  while (stack.length > 0) {
    const batch = stack.pop()!;
    if (out.error !== undefined) {
      out.pending.push(...batch);
      continue;
    }
    try {
      await write(batch);
      out.stored += batch.length;
    } catch (err) {
      if (!rejects(err)) {
        out.error = err;
        out.pending.push(...batch);
      } else if (batch.length === 1) out.rejected.push({ record: batch[0]!, error: err, reason: rejectionReason(err) });
      else {
        const mid = batch.length >> 1;
        // Pushed right half first: the left half is written first, keeping the input order.
        stack.push(batch.slice(mid), batch.slice(0, mid));
      }
    }
  }
  return out;
}
