import { createHmac, timingSafeEqual } from "node:crypto";
import { ConfigError } from "@ops/core";
import { auditHashInput, computeAuditHash, type HashedFields } from "./encoding.js";

/**
 * Keyed entries: the chain hash of each entry is an HMAC-SHA256 under a key held outside the
 * database (`hmac:<keyId>:<hex>` instead of the SHA-256 hex). Whoever lacks the key (the
 * application's database role included) cannot make an entry that verifies: a row forged at the
 * head is caught by the next `verify`, not only at the next checkpoint.
 */
export interface MacKey {
  /** Short id stored in each hash so keys can rotate: 1-32 of [A-Za-z0-9_-]. */
  keyId: string;
  /** At least 32 bytes (a Buffer, or a string of at least 32 characters). */
  key: Uint8Array | string;
}

/** Computes an entry's chain hash: plain SHA-256, or HMAC when a key is given. */
export type AuditHasher = (r: HashedFields) => string;

const PREFIX = "hmac:";
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** @throws ConfigError when the key id or key is unusable. */
export function checkMacKey(k: MacKey, path = "mac"): Buffer {
  if (!k || typeof k !== "object" || typeof k.keyId !== "string" || !KEY_ID.test(k.keyId))
    throw new ConfigError(`[ops/audit] invalid ${path}.keyId: expected 1-32 of A-Z a-z 0-9 _ -`, [
      { path: `${path}.keyId`, message: "expected 1-32 of A-Z a-z 0-9 _ -" },
    ]);
  const key = typeof k.key === "string" ? Buffer.from(k.key, "utf8") : k.key instanceof Uint8Array ? Buffer.from(k.key) : null;
  if (!key || key.length < 32)
    throw new ConfigError(`[ops/audit] invalid ${path}.key: expected at least 32 bytes`, [
      { path: `${path}.key`, message: "expected at least 32 bytes" },
    ]);
  return key;
}

/** The hasher of keyed entries. @throws ConfigError for a bad key */
export function macHasher(k: MacKey): AuditHasher {
  const key = checkMacKey(k);
  const prefix = `${PREFIX}${k.keyId}:`;
  return (r) => prefix + createHmac("sha256", key).update(auditHashInput(r), "utf8").digest("hex");
}

export function isKeyedHash(hash: string): boolean {
  return typeof hash === "string" && hash.startsWith(PREFIX);
}

/**
 * Checks an entry's own hash. Plain hashes are recomputed; keyed ones need their key in `keys`
 * (by id): `"unverifiable"` when it is missing.
 */
export function checkEntryHash(
  r: HashedFields & { hash: string },
  keys: ReadonlyMap<string, Buffer> | null,
): "ok" | "bad" | "unverifiable" {
  if (!isKeyedHash(r.hash)) return computeAuditHash(r) === r.hash ? "ok" : "bad";
  const colon = r.hash.indexOf(":", PREFIX.length);
  const keyId = colon < 0 ? "" : r.hash.slice(PREFIX.length, colon);
  const key = keys?.get(keyId);
  if (!key) return "unverifiable";
  const want = Buffer.from(createHmac("sha256", key).update(auditHashInput(r), "utf8").digest("hex"), "utf8");
  const got = Buffer.from(r.hash.slice(colon + 1), "utf8");
  return want.length === got.length && timingSafeEqual(want, got) ? "ok" : "bad";
}

/** A key map from the options form. @throws ConfigError for a bad key */
export function macKeyMap(keys: readonly MacKey[] | undefined): Map<string, Buffer> | null {
  if (!keys || keys.length === 0) return null;
  return new Map(keys.map((k, i) => [k.keyId, checkMacKey(k, `macKeys[${i}]`)]));
}
