import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { AuditRecord, JsonObject, JsonValue, SealedFields, SubjectKey, SubjectKeyStore, TenantKey } from "@ops/core";
import type { AuditEntry } from "./entry.js";

/** What erased personal fields read as after `forgetSubject`. */
export const ERASED = "[ERASED]";

/**
 * Fields sealed by default when a log has a key store: the actor's network identity (sealed
 * under the actor's own key), the free text (`reason`, `target.name`) and the usual personal
 * meta keys at any depth. Paths: `actor.ip`, `actor.userAgent`, `reason`, `target.name`,
 * `subject.type`, `meta.a.b` (a nested key) and `meta.**.email` (a key named `email`, any case,
 * at any depth of meta, arrays included).
 */
export const DEFAULT_PERSONAL_FIELDS: readonly string[] = [
  "actor.ip",
  "actor.userAgent",
  "reason",
  "target.name",
  "meta.**.ip",
  "meta.**.email",
  "meta.**.name",
  "meta.**.phone",
  "meta.**.address",
  "meta.**.userAgent",
];

/** An entry as read back: personal fields decrypted, or `ERASED` with their paths in `erased`. */
export type AuditEntryView = Omit<AuditRecord, "sealed"> & { erased?: string[] };

type Container = Record<string, unknown>;

// Concrete paths name one value: segments joined by ".", with "%" and "." inside a key escaped.
const esc = (k: string) => k.replace(/%/g, "%25").replace(/\./g, "%2E");
const unesc = (k: string) => k.replace(/%2E/g, ".").replace(/%25/g, "%");

function locate(entry: object, path: string): { obj: Container; key: string } | null {
  const parts = path.split(".").map(unesc);
  let obj: unknown = entry;
  for (let i = 0; i < parts.length - 1; i++) {
    if (obj === null || typeof obj !== "object") return null;
    obj = Object.prototype.hasOwnProperty.call(obj, parts[i]!) ? (obj as Container)[parts[i]!] : undefined;
  }
  return obj !== null && typeof obj === "object" ? { obj: obj as Container, key: parts[parts.length - 1]! } : null;
}

/** Every value a path names in `entry`: one for a plain path, any number for `meta.**.<key>`. */
function expand(entry: object, path: string): { obj: Container; key: string; path: string }[] {
  const star = path.indexOf(".**.");
  if (star < 0) {
    const at = locate(entry, path);
    return at && Object.prototype.hasOwnProperty.call(at.obj, at.key) && at.obj[at.key] !== undefined ? [{ ...at, path }] : [];
  }
  const base = locate(entry, `${path.slice(0, star)}.x`);
  const root = base ? base.obj : null;
  const want = path.slice(star + 4).toLowerCase();
  const out: { obj: Container; key: string; path: string }[] = [];
  const walk = (v: unknown, prefix: string, depth: number) => {
    if (v === null || typeof v !== "object" || depth > 40) return;
    for (const k of Object.keys(v)) {
      const child = (v as Container)[k];
      const p = `${prefix}.${esc(k)}`;
      if (k.toLowerCase() === want && child !== undefined) out.push({ obj: v as Container, key: k, path: p });
      else walk(child, p, depth + 1);
    }
  };
  walk(root, path.slice(0, star), 0);
  return out;
}

/** Whose key seals an entry's fields: the subject it is about, else a human actor. */
export function sealOwner(entry: AuditEntry): string | null {
  return entry.subject?.id ?? (entry.actor.type === "user" ? entry.actor.id : null);
}

/**
 * Moves the personal fields present in `entry` into ciphertext: the actor's IP and user agent
 * under a human actor's own key (so forgetting the actor erases them wherever they acted), the
 * rest under the owner's key (`sealOwner`). Returns the stripped entry (a copy) and the sealed
 * part (`more` holds the parts under other keys), or the entry itself when nothing is personal.
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
  const actorOwner = input.entry.actor.type === "user" ? input.entry.actor.id : null;
  if (owner === null && actorOwner === null) return { entry: input.entry, sealed: null };
  const copy = structuredClone(input.entry);
  const groups = new Map<string, { values: JsonObject; fields: string[] }>();
  for (const path of input.fields) {
    const who = path.startsWith("actor.") && actorOwner !== null ? actorOwner : owner;
    if (who === null) continue;
    for (const at of expand(copy, path)) {
      const g = groups.get(who) ?? { values: {}, fields: [] };
      groups.set(who, g);
      g.values[at.path] = at.obj[at.key] as JsonValue;
      g.fields.push(at.path);
      // Array elements become null (an index cannot be removed without shifting the others).
      if (Array.isArray(at.obj)) at.obj[at.key] = null;
      else delete at.obj[at.key];
    }
  }
  if (groups.size === 0) return { entry: input.entry, sealed: null };
  // The owner's part first (the one `sealed.keyId` names), then the actor's.
  const order = [...groups.keys()].sort((a, b) => (a === owner ? -1 : b === owner ? 1 : 0));
  const parts: SealedFields[] = [];
  for (const who of order) {
    const g = groups.get(who)!;
    const key = await subjectKey(input.keys, input.cache, copy.tenantId, who, input.nowIso);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key.key, iv);
    // The entry id as associated data: a ciphertext moved to another entry does not decrypt.
    cipher.setAAD(Buffer.from(input.id, "utf8"));
    const ct = Buffer.concat([cipher.update(JSON.stringify(g.values), "utf8"), cipher.final(), cipher.getAuthTag()]);
    parts.push({ keyId: key.keyId, alg: "A256GCM", iv: iv.toString("base64"), data: ct.toString("base64"), fields: g.fields });
  }
  const sealed: SealedFields = parts[0]!;
  if (parts.length > 1) sealed.more = parts.slice(1);
  return { entry: copy, sealed };
}

async function subjectKey(
  keys: SubjectKeyStore,
  cache: Map<string, SubjectKey>,
  tenantId: TenantKey,
  subjectId: string,
  nowIso: string,
): Promise<SubjectKey> {
  const cacheKey = `${tenantId ?? ""}\u0000${subjectId}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const key = await keys.getOrCreate({
    candidate: { keyId: randomUUID(), tenantId, subjectId, key: new Uint8Array(randomBytes(32)), createdAt: nowIso },
  });
  cache.set(cacheKey, key);
  return key;
}

/** Every sealed part of a record (the main one, then `more`). */
export function sealedParts(sealed: SealedFields | null | undefined): SealedFields[] {
  if (!sealed) return [];
  return [sealed, ...(Array.isArray(sealed.more) ? sealed.more : [])];
}

function open(part: SealedFields, key: SubjectKey | null, id: string): JsonObject | null {
  if (!key) return null;
  try {
    const data = Buffer.from(part.data, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key.key, Buffer.from(part.iv, "base64"));
    decipher.setAAD(Buffer.from(id, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return JSON.parse(
      Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8"),
    ) as JsonObject;
  } catch {
    return null;
  }
}

/**
 * The readable view of a record: sealed fields decrypted with their keys (`keys(keyId)`, or one
 * key for every part), or set to `ERASED` and listed in `erased` when a key is gone (or the
 * ciphertext does not authenticate).
 */
export function unsealRecord(record: AuditRecord, keys: SubjectKey | null | ((keyId: string) => SubjectKey | null)): AuditEntryView {
  const { sealed, ...rest } = record;
  const view: AuditEntryView = structuredClone(rest) as AuditEntryView;
  for (const part of sealedParts(sealed)) {
    const key = typeof keys === "function" ? keys(part.keyId) : keys;
    const values = open(part, key, record.id);
    if (values === null) view.erased = [...(view.erased ?? []), ...part.fields];
    for (const path of part.fields) {
      const at = locate(view, path);
      if (at) at.obj[at.key] = values ? values[path] : ERASED;
      else if (path.startsWith("target.") && view.target)
        view.target = { ...view.target, [path.slice(7)]: values ? values[path] : ERASED } as never;
    }
  }
  return view;
}
