import type { CryptoKeyLike } from "./crypto-key.js";
import { fromBase64Url } from "./base64url.js";
import type { ClientPayload, SignedClientPayload } from "./payload.js";

/** Why a payload was refused. The client keeps serving what it had. */
export class PayloadError extends Error {
  readonly code: "SIGNATURE" | "EXPIRED" | "SUBJECT" | "FORMAT";
  constructor(code: PayloadError["code"], message: string) {
    super(`[ops/flags/client] ${message}`);
    this.name = "PayloadError";
    this.code = code;
  }
}

const ED25519 = { name: "Ed25519" } as const;

/**
 * Imports the server's public key: base64url of the 32 raw bytes (what `createClientSigningKey`
 * returns as `publicKey`), or a `CryptoKeyLike`.
 */
export async function importPublicKey(key: string | CryptoKeyLike): Promise<CryptoKeyLike> {
  if (typeof key !== "string") return key;
  const raw = fromBase64Url(key);
  if (raw.length !== 32) throw new PayloadError("FORMAT", "publicKey: expected base64url of a 32-byte Ed25519 public key");
  return crypto.subtle.importKey("raw", raw, ED25519, false, ["verify"]);
}

export interface VerifyOptions {
  /** Refuse a payload built for another tenant / unit (a cached one after a user switch). */
  expectSubject?: { tenantId?: string | null; unit?: string | null };
  /** Epoch ms; default `Date.now()`. */
  now?: number;
  /** Allowed clock difference with the server (default 60 000 ms). */
  clockSkewMs?: number;
}

/**
 * Checks the Ed25519 signature (WebCrypto), the format, the expiry and the subject, then parses.
 * @throws PayloadError with `code` SIGNATURE, FORMAT, EXPIRED or SUBJECT.
 */
export async function verifyClientPayload(
  signed: SignedClientPayload | string,
  publicKey: string | CryptoKeyLike,
  options: VerifyOptions = {},
): Promise<ClientPayload> {
  let envelope: SignedClientPayload;
  try {
    envelope = typeof signed === "string" ? (JSON.parse(signed) as SignedClientPayload) : signed;
  } catch {
    throw new PayloadError("FORMAT", "expected a signed payload (JSON)");
  }
  if (!envelope || envelope.alg !== "Ed25519" || typeof envelope.payload !== "string" || typeof envelope.signature !== "string")
    throw new PayloadError("FORMAT", 'expected { alg: "Ed25519", keyId, payload, signature }');
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(envelope.signature);
  } catch {
    throw new PayloadError("FORMAT", "signature: expected base64url");
  }
  const key = await importPublicKey(publicKey);
  const ok = await crypto.subtle.verify(ED25519, key, sig, new TextEncoder().encode(envelope.payload));
  if (!ok) throw new PayloadError("SIGNATURE", "signature does not verify with the configured public key");
  const payload = JSON.parse(envelope.payload) as ClientPayload;
  if (payload.v !== 1 || typeof payload.flags !== "object" || payload.flags === null)
    throw new PayloadError("FORMAT", `unsupported payload version ${String(payload.v)}`);
  const now = options.now ?? Date.now();
  const skew = options.clockSkewMs ?? 60_000;
  if (Date.parse(payload.expiresAt) + skew < now) throw new PayloadError("EXPIRED", `payload expired at ${payload.expiresAt}`);
  const want = options.expectSubject;
  if (want?.tenantId !== undefined && want.tenantId !== payload.subject.tenantId)
    throw new PayloadError("SUBJECT", "payload was built for another tenant");
  if (want?.unit !== undefined && want.unit !== payload.subject.unit)
    throw new PayloadError("SUBJECT", "payload was built for another user");
  return payload;
}
