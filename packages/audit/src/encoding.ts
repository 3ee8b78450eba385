import * as crypto from "node:crypto";
import type { AuditRecord, JsonValue, SealedFields } from "@ops/core";

/** `prevHash` of the first entry of every chain. */
export const GENESIS_HASH = "";

/** Version tag at the start of every hash input: a future encoding gets a new tag. */
const TAG = "ops-audit/1";

type OneShotHash = (algorithm: string, data: string, outputEncoding: "hex") => string;
// `crypto.hash` (Node >= 20.12) is ~3x faster than createHash for short inputs: no Hash object.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** SHA-256 of a UTF-8 string, lower-case hex. */
export const sha256Hex: (input: string) => string = oneShot
  ? (input) => oneShot("sha256", input, "hex")
  : (input) => crypto.createHash("sha256").update(input, "utf8").digest("hex");

/**
 * Length-prefixed string ("5:hello"), "-" for null/undefined. Injective without escaping (the
 * prefix says where the string ends), and cheaper than JSON.stringify.
 */
function s(v: string | null | undefined): string {
  return v === null || v === undefined ? "-" : `${v.length}:${v}`;
}

// Meta keys repeat across entries: quote each once.
const quoted = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quoted.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quoted.size >= 10_000) quoted.clear();
    quoted.set(k, q);
  }
  return q;
}

/**
 * Canonical JSON of a meta value: object keys sorted, numbers in JS's shortest round-trip
 * form. PostgreSQL JSONB reorders keys and respells numbers (1.0 -> 1); neither changes this.
 */
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(v[i]!);
    return `${out}]`;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return "{}";
  keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i === 0 ? "" : ","}${quoteKey(k)}:${canonicalJson(v[k]!)}`;
  }
  return `${out}}`;
}

function sealedPart(x: SealedFields | null | undefined): string {
  if (x === null || x === undefined) return "-";
  const main = `${s(x.keyId)}${s(x.alg)}${s(x.iv)}${s(x.data)}${x.fields.length}:${x.fields.map(s).join("")}`;
  // Parts under other keys (absent on older entries, whose hash is unchanged).
  return Array.isArray(x.more) && x.more.length > 0 ? `${main}+${x.more.length}:${x.more.map(sealedPart).join("")}` : main;
}

/** What the hash covers: everything but `seq` (order is fixed by `prevHash`) and `hash`. */
export type HashedFields = Omit<AuditRecord, "seq" | "hash">;

/**
 * The exact string hashed for an entry. Fixed field order, length-prefixed strings, canonical
 * JSON only for `meta`: one pass, no intermediate objects.
 */
export function auditHashInput(r: HashedFields): string {
  const a = r.actor;
  const sub = r.subject;
  const t = r.target;
  return (
    `${TAG}|${s(r.id)}${s(r.tenantId)}${s(r.prevHash)}${s(r.ts)}${s(r.env)}${s(r.action)}` +
    `|${s(a.id)}${s(a.type)}${s(a.ip)}${s(a.userAgent)}` +
    `|${sub ? `${s(sub.id)}${s(sub.type)}` : "-"}` +
    `|${t ? `${s(t.id)}${s(t.type)}${s(t.name)}` : "-"}` +
    `|${s(r.outcome)}${s(r.reason)}${s(r.surface)}${s(r.requestId)}${s(r.correlationId)}` +
    `|${r.meta ? canonicalJson(r.meta) : "{}"}|${sealedPart(r.sealed)}`
  );
}

/** SHA-256 (hex) of `auditHashInput(r)`: the value of `AuditRecord.hash`. */
export function computeAuditHash(r: HashedFields): string {
  return sha256Hex(auditHashInput(r));
}
