import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-ops-signature";
export const TIMESTAMP_HEADER = "x-ops-timestamp";
export const IDEMPOTENCY_HEADER = "x-ops-idempotency-key";

/**
 * The signature our webhooks carry: `v1=` + hex HMAC-SHA256 over `"<timestamp>.<raw body>"`,
 * timestamp in Unix seconds. Signing the timestamp with the body lets receivers refuse replays.
 */
export function signWebhook(input: { secret: string; body: string; timestamp: number }): string {
  return `v1=${createHmac("sha256", input.secret).update(`${input.timestamp}.${input.body}`).digest("hex")}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: "missing" | "malformed" | "stale" | "mismatch" };

/** What the verifiers take: the RAW request body and the two headers, as received. */
export interface VerifyWebhookInput {
  secret: string;
  body: string | Uint8Array;
  /** The `x-ops-timestamp` header. */
  timestamp: string | null | undefined;
  /** The `x-ops-signature` header. */
  signature: string | null | undefined;
  /** Maximum age of the timestamp, either way, in seconds (default 300). */
  toleranceSec?: number;
  nowMs?: number;
}

/**
 * For receivers: `true` only when the signature over the RAW body (before any JSON parsing) is
 * right and the timestamp is within `toleranceSec` (default 300) of now. Constant-time comparison;
 * never throws. Written as `if (!verifyWebhookSignature(...)) return 401`. For the reason of a
 * refusal (to log or count it), use `verifyWebhookSignatureDetailed`.
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): boolean {
  return verifyWebhookSignatureDetailed(input).ok;
}

/**
 * `verifyWebhookSignature` with the reason of a refusal: `{ ok: true }` or `{ ok: false, reason }`,
 * reason `missing` (a header is absent), `malformed`, `stale` (replay window exceeded) or
 * `mismatch` (wrong secret or altered body). The result is an object, so test `.ok`, never the
 * result itself. Never throws.
 */
export function verifyWebhookSignatureDetailed(input: VerifyWebhookInput): VerifyResult {
  if (!input.timestamp || !input.signature) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(input.timestamp) || !/^v1=[0-9a-f]{64}$/.test(input.signature)) return { ok: false, reason: "malformed" };
  const ts = Number(input.timestamp);
  const now = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (input.toleranceSec ?? 300)) return { ok: false, reason: "stale" };
  const body = typeof input.body === "string" ? input.body : Buffer.from(input.body).toString("utf8");
  const expected = Buffer.from(signWebhook({ secret: input.secret, body, timestamp: ts }));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: "mismatch" };
}
