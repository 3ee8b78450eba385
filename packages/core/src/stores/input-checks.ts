import { ValidationError } from "../errors.js";
import type { OutboxEnqueueMessage } from "./outbox-store.js";

// Input checks of the store contracts, shared by every adapter so that each rejects exactly the
// same inputs with the same message. Messages read `[ops/<pkg>] invalid <field>: expected ...`.

/** A `ValidationError` for one field. */
export function invalidField(pkg: string, field: string, expected: string): ValidationError {
  return new ValidationError(`[ops/${pkg}] invalid ${field}: expected ${expected}`, [{ path: field, message: `expected ${expected}` }]);
}

/** @throws ValidationError unless `value` is a string of 1..max characters. */
export function checkNonEmpty(pkg: string, value: unknown, field: string, max = 512): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max)
    throw invalidField(pkg, field, `a non-empty string of at most ${max} characters`);
  return value;
}

/** An ISO 8601 time normalised to `Date#toISOString()` form. @throws ValidationError */
export function checkIsoTime(pkg: string, value: unknown, field: string): string {
  const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalidField(pkg, field, "an ISO 8601 date-time");
  return new Date(ms).toISOString();
}

/**
 * Checks an `OutboxStore.enqueue` message; returns its times normalised (`nextAttemptAt`
 * defaults to `createdAt`).
 * @throws ValidationError naming the bad field.
 */
export function checkOutboxEnqueue(pkg: string, m: OutboxEnqueueMessage): { createdAt: string; nextAttemptAt: string } {
  if (typeof m !== "object" || m === null) throw invalidField(pkg, "message", "an object");
  checkNonEmpty(pkg, m.id, "message.id");
  checkNonEmpty(pkg, m.channel, "message.channel", 128);
  checkNonEmpty(pkg, m.idempotencyKey, "message.idempotencyKey");
  if (m.tenantId !== null && (typeof m.tenantId !== "string" || m.tenantId === ""))
    throw invalidField(pkg, "message.tenantId", "a non-empty string or null");
  if (typeof m.payload !== "object" || m.payload === null || Array.isArray(m.payload))
    throw invalidField(pkg, "message.payload", "a JSON object");
  const createdAt = checkIsoTime(pkg, m.createdAt, "message.createdAt");
  const nextAttemptAt = m.nextAttemptAt === undefined ? createdAt : checkIsoTime(pkg, m.nextAttemptAt, "message.nextAttemptAt");
  return { createdAt, nextAttemptAt };
}

/**
 * Checks an `OutboxStore.cancel` input; returns `now` normalised and the reason (null when absent).
 * @throws ValidationError naming the bad field.
 */
export function checkOutboxCancel(
  pkg: string,
  input: { id: string; now: string; reason?: string },
): { now: string; reason: string | null } {
  if (typeof input !== "object" || input === null) throw invalidField(pkg, "input", "an object");
  checkNonEmpty(pkg, input.id, "id");
  const now = checkIsoTime(pkg, input.now, "now");
  const reason = input.reason === undefined ? null : checkNonEmpty(pkg, input.reason, "reason", 2000);
  return { now, reason };
}

function counterField(pkg: string, path: string, message: string): ValidationError {
  return new ValidationError(`[ops/${pkg}] invalid counter ${path}: ${message}`, [{ path, message }]);
}

/** @throws ValidationError unless `key` is 1-256 characters. */
export function checkCounterKey(pkg: string, key: unknown): void {
  if (typeof key !== "string" || key.length < 1 || key.length > 256) throw counterField(pkg, "key", "expected 1-256 characters");
}

/**
 * Checks a `CounterStore.increment` input; returns `by` and `windowBuckets` with their defaults
 * and the start of the bucket holding `atMs`.
 * @throws ValidationError naming the bad field.
 */
export function checkCounterIncrement(
  pkg: string,
  input: { key: string; atMs: number; bucketMs: number; by?: number; windowBuckets?: number },
): { by: number; windowBuckets: number; start: number } {
  const positive = (v: unknown, path: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw counterField(pkg, path, "expected a positive integer");
  };
  checkCounterKey(pkg, input.key);
  positive(input.bucketMs, "bucketMs");
  const by = input.by ?? 1;
  positive(by, "by");
  const windowBuckets = input.windowBuckets ?? 1;
  positive(windowBuckets, "windowBuckets");
  if (!Number.isFinite(input.atMs)) throw counterField(pkg, "atMs", "expected a finite number of milliseconds");
  return { by, windowBuckets, start: Math.floor(input.atMs / input.bucketMs) * input.bucketMs };
}

/**
 * Checks a `CounterStore.readActive` input; returns the distinct keys.
 * @throws ValidationError naming the bad field.
 */
export function checkCounterReadActive(
  pkg: string,
  input: { keys: readonly string[]; bucketMs: number; fromMs: number; toMs: number },
  maxKeys = 256,
): string[] {
  if (typeof input !== "object" || input === null) throw counterField(pkg, "(input)", "expected an object");
  if (!Array.isArray(input.keys) || input.keys.length < 1 || input.keys.length > maxKeys)
    throw counterField(pkg, "keys", `expected an array of 1-${maxKeys} keys`);
  input.keys.forEach((k, i) => {
    if (typeof k !== "string" || k.length < 1 || k.length > 256) throw counterField(pkg, `keys[${i}]`, "expected 1-256 characters");
  });
  if (!Number.isSafeInteger(input.bucketMs) || input.bucketMs < 1) throw counterField(pkg, "bucketMs", "expected a positive integer");
  if (!Number.isSafeInteger(input.fromMs)) throw counterField(pkg, "fromMs", "expected an integer number of milliseconds");
  if (!Number.isSafeInteger(input.toMs)) throw counterField(pkg, "toMs", "expected an integer number of milliseconds");
  const having = (input as { having?: unknown }).having;
  if (having !== undefined) {
    if (!Array.isArray(having) || having.length > 64) throw counterField(pkg, "having", "expected an array of at most 64 conditions");
    having.forEach((c: { keys?: unknown; fromMs?: unknown; toMs?: unknown; min?: unknown } | null, i) => {
      if (typeof c !== "object" || c === null) throw counterField(pkg, `having[${i}]`, "expected an object");
      if (!Array.isArray(c.keys) || c.keys.length < 1 || c.keys.some((k) => !input.keys.includes(k)))
        throw counterField(pkg, `having[${i}].keys`, "expected a non-empty subset of keys");
      if (!Number.isSafeInteger(c.fromMs)) throw counterField(pkg, `having[${i}].fromMs`, "expected an integer number of milliseconds");
      if (!Number.isSafeInteger(c.toMs)) throw counterField(pkg, `having[${i}].toMs`, "expected an integer number of milliseconds");
      if (!Number.isSafeInteger(c.min) || (c.min as number) < 1) throw counterField(pkg, `having[${i}].min`, "expected a positive integer");
    });
  }
  return [...new Set(input.keys)];
}

/**
 * Checks every add of a `CounterStore.incrementMany` call (before anything is written); returns
 * each add's `by`, `windowBuckets` and bucket start.
 * @throws ValidationError naming the bad add (`adds[3].key`).
 */
export function checkCounterAdds(
  pkg: string,
  adds: ReadonlyArray<{ tenantId: unknown; key: string; atMs: number; bucketMs: number; by?: number; windowBuckets?: number }>,
): Array<{ by: number; windowBuckets: number; start: number }> {
  if (!Array.isArray(adds)) throw counterField(pkg, "adds", "expected an array");
  return adds.map((a, i) => {
    if (typeof a !== "object" || a === null) throw counterField(pkg, `adds[${i}]`, "expected an object");
    if (a.tenantId !== null && (typeof a.tenantId !== "string" || a.tenantId === ""))
      throw counterField(pkg, `adds[${i}].tenantId`, "expected a non-empty string or null");
    try {
      return checkCounterIncrement(pkg, a);
    } catch (err) {
      if (err instanceof ValidationError) {
        const path = `adds[${i}].${err.issues[0]?.path ?? ""}`;
        throw counterField(pkg, path, err.issues[0]?.message ?? "invalid");
      }
      throw err;
    }
  });
}

/** @throws ValidationError unless a `SubjectKeyStore.getOrCreate` candidate has ids and 32 key bytes. */
export function checkSubjectKeyCandidate(pkg: string, c: unknown): void {
  const k = c as { keyId?: unknown; subjectId?: unknown; key?: unknown; createdAt?: unknown; tenantId?: unknown } | null;
  if (typeof k !== "object" || k === null) throw invalidField(pkg, "candidate", "an object");
  checkNonEmpty(pkg, k.keyId, "candidate.keyId");
  checkNonEmpty(pkg, k.subjectId, "candidate.subjectId");
  if (k.tenantId !== null && (typeof k.tenantId !== "string" || k.tenantId === ""))
    throw invalidField(pkg, "candidate.tenantId", "a non-empty string or null");
  if (!(k.key instanceof Uint8Array) || k.key.length !== 32) throw invalidField(pkg, "candidate.key", "32 bytes");
  checkIsoTime(pkg, k.createdAt, "candidate.createdAt");
}
