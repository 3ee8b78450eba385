import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { AuditRecord, JsonObject, JsonValue, SealedFields, SubjectKey, SubjectKeyStore, TenantKey } from "@ops/core";
import type { AuditEntry } from "./entry.js";

/** What erased personal fields read as after `forgetSubject`. */
export const ERASED = "[ERASED]";

/**
 * Fields sealed by default when a log has a key store: network identity of the actor and the
 * usual personal meta keys. Paths are `actor.ip`, `actor.userAgent`, `reason`, `target.name`,
 * `subject.type` or `meta.<top-level key>`.
 */
export const DEFAULT_PERSONAL_FIELDS: readonly string[] = [
  "actor.ip",
  "actor.userAgent",
  "meta.ip",
  "meta.email",
  "meta.name",
  "meta.phone",
  "meta.address",
  "meta.userAgent",
];

/** An entry as read back: personal fields decrypted, or `ERASED` with their paths in `erased`. */
export type AuditEntryView = Omit<AuditRecord, "sealed"> & { erased?: string[] };

type Container = Record<string, unknown>;

function locate(entry: object, path: string): { obj: Container; key: string } | null {
  const dot = path.indexOf(".");
  if (dot < 0) return { obj: entry as Container, key: path };
  const parent = (entry as Container)[path.slice(0, dot)];
  return parent && typeof parent === "object" ? { obj: parent as Container, key: path.slice(dot + 1) } : null;
}

/** Whose key seals an entry: the subject it is about, else a human actor. */
export function sealOwner(entry: AuditEntry): string | null {
  return entry.subject?.id ?? (entry.actor.type === "user" ? entry.actor.id : null);
}

/**
 * Moves the personal fields present in `entry` into ciphertext under the owner's key. Returns
 * the stripped entry (a copy) and the sealed part, or the entry itself when nothing is personal.
 */
export async function sealEntry(input: {
  entry: AuditEntry;
  id: string;
  fields: readonly string[];
  keys: SubjectKeyStore;
  nowIso: string;
  cache: Map<string, SubjectKey>;
}): Promise<{ entry: AuditEntry; sealed: SealedFields | null }> {
  const owner = sealOwner(input.entry);
  if (owner === null) return { entry: input.entry, sealed: null };
  const copy = structuredClone(input.entry);
  const values: JsonObject = {};
  const taken: string[] = [];
  for (const path of input.fields) {
    const at = locate(copy, path);
    if (!at || at.obj[at.key] === undefined) continue;
    values[path] = at.obj[at.key] as JsonValue;
    delete at.obj[at.key];
    taken.push(path);
  }
  if (taken.length === 0) return { entry: input.entry, sealed: null };
  const key = await subjectKey(input.keys, input.cache, copy.tenantId, owner, input.nowIso);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.key, iv);
  // The entry id as associated data: a ciphertext moved to another entry does not decrypt.
  cipher.setAAD(Buffer.from(input.id, "utf8"));
  const ct = Buffer.concat([cipher.update(JSON.stringify(values), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return {
    entry: copy,
    sealed: { keyId: key.keyId, alg: "A256GCM", iv: iv.toString("base64"), data: ct.toString("base64"), fields: taken },
  };
}

async function subjectKey(keys: SubjectKeyStore, cache: Map<string, SubjectKey>, tenantId: TenantKey, subjectId: string, nowIso: string): Promise<SubjectKey> {
  const cacheKey = `${tenantId ?? ""}\u0000${subjectId}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const key = await keys.getOrCreate({
    candidate: { keyId: randomUUID(), tenantId, subjectId, key: new Uint8Array(randomBytes(32)), createdAt: nowIso },
  });
  cache.set(cacheKey, key);
  return key;
}

/**
 * The readable view of a record: sealed fields decrypted with `key`, or set to `ERASED` and
 * listed in `erased` when the key is gone (or the ciphertext does not authenticate).
 */
export function unsealRecord(record: AuditRecord, key: SubjectKey | null): AuditEntryView {
  const { sealed, ...rest } = record;
  const view: AuditEntryView = structuredClone(rest) as AuditEntryView;
  if (!sealed) return view;
  let values: JsonObject | null = null;
  if (key) {
    try {
      const data = Buffer.from(sealed.data, "base64");
      const decipher = createDecipheriv("aes-256-gcm", key.key, Buffer.from(sealed.iv, "base64"));
      decipher.setAAD(Buffer.from(record.id, "utf8"));
      decipher.setAuthTag(data.subarray(data.length - 16));
      values = JSON.parse(Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8")) as JsonObject;
    } catch {
      values = null;
    }
  }
  if (values === null) view.erased = [...sealed.fields];
  for (const path of sealed.fields) {
    const at = locate(view, path);
    if (at) at.obj[at.key] = values ? values[path] : ERASED;
  }
  return view;
}
