import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { ConfigError, IntegrityError, type TenantKey } from "@ops/core";
import { sha256Hex } from "./encoding.js";
import { leafHash, merkleProof, merkleRoot, rootFromProof } from "./merkle.js";
import type { ChainAnchor } from "./verify.js";

/** One chain's head at checkpoint time. */
export interface CheckpointHead {
  tenantId: TenantKey;
  seq: number;
  hash: string;
}

/**
 * What is signed. Like CloudTrail's digests, each checkpoint carries the previous one's
 * signature, so checkpoints themselves form a chain and one cannot be dropped unnoticed.
 */
export interface CheckpointPayload {
  /** 2: carries `seq` (1 had none). */
  v: 1 | 2;
  /**
   * Position in the checkpoint log: 1, 2, 3... with no gap (v2). With `prevSignature` it makes the
   * log a hash-linked, numbered chain: dropping the newest checkpoints is seen against any later
   * copy of the log (a witness file, a second sink) that holds a higher number.
   */
  seq?: number;
  createdAt: string;
  /** Short id of the public key that verifies this (first 16 hex of SHA-256 of its SPKI DER). */
  keyId: string;
  /** Every chain's head, global chain (null) first, then tenant ids ascending. */
  heads: CheckpointHead[];
  /**
   * RFC 6962 Merkle root over the heads: what the signature covers. One tenant's head can be
   * proven with a short inclusion proof, without showing any other tenant's head.
   */
  root: string;
  prevSignature: string | null;
}

export interface SignedCheckpoint {
  payload: CheckpointPayload;
  /** Ed25519 signature (base64) over `checkpointSigningInput(payload)`. */
  signature: string;
}

/**
 * A checkpoint reduced to one chain: the signed header (root, no heads), that chain's head and
 * its inclusion proof. What exports embed, so a tenant's export names no other tenant.
 */
export interface CheckpointProof {
  v: 1 | 2;
  seq?: number;
  createdAt: string;
  keyId: string;
  root: string;
  prevSignature: string | null;
  headCount: number;
  signature: string;
  head: CheckpointHead;
  index: number;
  proof: string[];
}

export type KeyInput = KeyObject | string;

/** An Ed25519 private KeyObject. @throws ConfigError when it is not one. */
export function privateKeyOf(key: KeyInput): KeyObject {
  try {
    const k = typeof key === "string" ? createPrivateKey(key) : key;
    if (k.type !== "private" || k.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 private key");
    return k;
  } catch (err) {
    throw new ConfigError(
      "[ops/audit] invalid checkpoints.privateKey: expected an Ed25519 private key (PEM or KeyObject)",
      [{ path: "checkpoints.privateKey", message: "expected an Ed25519 private key" }],
      { cause: err },
    );
  }
}

/**
 * The Ed25519 public key of a PEM/KeyObject (a private key gives its public half).
 * @throws ConfigError when it is not an Ed25519 key.
 */
export function publicKeyOf(key: KeyInput): KeyObject {
  try {
    const k = typeof key === "string" ? createPublicKey(key) : key.type === "private" ? createPublicKey(key) : key;
    if (k.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 key");
    return k;
  } catch (err) {
    throw new ConfigError(
      "[ops/audit] invalid publicKey: expected an Ed25519 public key (PEM or KeyObject)",
      [{ path: "publicKey", message: "expected an Ed25519 public key" }],
      { cause: err },
    );
  }
}

/** Short, stable id of a public key. */
export function checkpointKeyId(key: KeyInput): string {
  return sha256Hex(publicKeyOf(key).export({ type: "spki", format: "der" }).toString("base64")).slice(0, 16);
}

/** A new Ed25519 key pair as PEM. Keep the private key out of the audit database. */
export function generateCheckpointKeys(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

function headLeaf(h: CheckpointHead): string {
  return leafHash(`${h.tenantId === null ? "-" : `${h.tenantId.length}:${h.tenantId}`}|${h.seq}|${h.hash}`);
}

/** The exact bytes signed: fixed field order; the heads are bound through the Merkle root. */
export function checkpointSigningInput(
  p: Pick<CheckpointPayload, "v" | "seq" | "createdAt" | "keyId" | "root" | "prevSignature">,
  headCount: number,
): string {
  const base = `ops-audit-checkpoint/${p.v}\n${p.createdAt}\n${p.keyId}\n${p.root}\n${p.prevSignature ?? "-"}\n${headCount}`;
  return p.v === 1 ? base : `${base}\n${p.seq}`;
}

function sortHeads(heads: readonly CheckpointHead[]): CheckpointHead[] {
  return [...heads].sort((a, b) =>
    a.tenantId === b.tenantId ? 0 : a.tenantId === null ? -1 : b.tenantId === null ? 1 : a.tenantId < b.tenantId ? -1 : 1,
  );
}

/**
 * Signs chain heads.
 * @throws ConfigError when `privateKey` is not an Ed25519 private key.
 */
export function signCheckpoint(input: {
  heads: readonly CheckpointHead[];
  privateKey: KeyInput;
  createdAt: string;
  prevSignature?: string | null;
  /** Position in the checkpoint log (default 1; the previous checkpoint's + 1). */
  seq?: number;
}): SignedCheckpoint {
  const key = privateKeyOf(input.privateKey);
  const heads = sortHeads(input.heads).map((h) => ({ tenantId: h.tenantId, seq: h.seq, hash: h.hash }));
  const payload: CheckpointPayload = {
    v: 2,
    seq: input.seq ?? 1,
    createdAt: input.createdAt,
    keyId: checkpointKeyId(key),
    heads,
    root: merkleRoot(heads.map(headLeaf)),
    prevSignature: input.prevSignature ?? null,
  };
  return { payload, signature: sign(null, Buffer.from(checkpointSigningInput(payload, heads.length), "utf8"), key).toString("base64") };
}

/** True when the signature is valid for `publicKey` and the root matches the heads. Never throws on bad data. */
export function verifyCheckpoint(cp: SignedCheckpoint, publicKey: KeyInput): boolean {
  const key = publicKeyOf(publicKey);
  try {
    const p = cp.payload;
    if (!validVersion(p) || !Array.isArray(p.heads) || p.root !== merkleRoot(p.heads.map(headLeaf))) return false;
    return verify(null, Buffer.from(checkpointSigningInput(p, p.heads.length), "utf8"), key, Buffer.from(cp.signature, "base64"));
  } catch {
    return false;
  }
}

/** One chain's part of a checkpoint with its inclusion proof, or null when the chain is not in it. */
export function checkpointProof(cp: SignedCheckpoint, tenantId: TenantKey): CheckpointProof | null {
  const index = cp.payload.heads.findIndex((h) => h.tenantId === tenantId);
  if (index < 0) return null;
  const { v, seq, createdAt, keyId, root, prevSignature, heads } = cp.payload;
  return {
    v,
    ...(seq !== undefined ? { seq } : {}),
    createdAt,
    keyId,
    root,
    prevSignature,
    headCount: heads.length,
    signature: cp.signature,
    head: heads[index]!,
    index,
    proof: merkleProof(heads.map(headLeaf), index),
  };
}

/** True when the proof leads to the signed root and the signature is valid. Never throws on bad data. */
export function verifyCheckpointProof(p: CheckpointProof, publicKey: KeyInput): boolean {
  const key = publicKeyOf(publicKey);
  try {
    if (!validVersion(p) || !Array.isArray(p.proof) || rootFromProof(headLeaf(p.head), p.index, p.headCount, p.proof) !== p.root)
      return false;
    return verify(null, Buffer.from(checkpointSigningInput(p, p.headCount), "utf8"), key, Buffer.from(p.signature, "base64"));
  } catch {
    return false;
  }
}

function validVersion(p: { v: unknown; seq?: unknown }): boolean {
  return p.v === 1 || (p.v === 2 && Number.isSafeInteger(p.seq) && (p.seq as number) >= 1);
}

function isProof(x: SignedCheckpoint | CheckpointProof): x is CheckpointProof {
  return (x as CheckpointProof).proof !== undefined;
}

/**
 * The trusted positions that checkpoints (full, or proofs for one chain) give for one chain.
 * @throws IntegrityError when a signature or proof does not verify against `publicKey`.
 */
export function checkpointAnchors(
  cps: ReadonlyArray<SignedCheckpoint | CheckpointProof>,
  tenantId: TenantKey,
  publicKey: KeyInput,
): ChainAnchor[] {
  const out: ChainAnchor[] = [];
  for (const cp of cps) {
    if (isProof(cp)) {
      if (!verifyCheckpointProof(cp, publicKey))
        throw new IntegrityError(`[ops/audit] checkpoint of ${cp.createdAt ?? "?"} has an invalid signature or proof for this public key`);
      if (cp.head.tenantId === tenantId) out.push({ seq: cp.head.seq, hash: cp.head.hash });
      continue;
    }
    if (!verifyCheckpoint(cp, publicKey))
      throw new IntegrityError(`[ops/audit] checkpoint of ${cp.payload?.createdAt ?? "?"} has an invalid signature for this public key`);
    for (const h of cp.payload.heads) if (h.tenantId === tenantId) out.push({ seq: h.seq, hash: h.hash });
  }
  return out;
}

/** Result of checking a sequence of checkpoints (a checkpoint file or bucket listing, oldest first). */
export interface CheckpointLogResult {
  ok: boolean;
  checked: number;
  /** 0-based index of the first bad checkpoint (for `dropped`: the log's length). */
  badIndex?: number;
  /** What is wrong: a bad signature, a broken link or number, or newest checkpoints dropped. */
  kind?: "signature" | "removed" | "inserted" | "reordered" | "dropped";
  message?: string;
  /** `seq` of the newest checkpoint (v2 logs). */
  lastSeq?: number;
}

/**
 * Checks every signature, that each checkpoint's `prevSignature` is the previous one's signature
 * and that numbers (v2) go up by one: a checkpoint removed from, inserted into or altered in the
 * published log is found. With `witness` (a later copy of the log held elsewhere: a second sink,
 * an auditor's file), the newest checkpoints dropped from the end of `cps` are found too: every
 * witness checkpoint must be in `cps`. Never throws on bad data. @throws ConfigError for a bad public key
 */
export function verifyCheckpointLog(
  cps: readonly SignedCheckpoint[],
  publicKey: KeyInput,
  options: { witness?: readonly SignedCheckpoint[] } = {},
): CheckpointLogResult {
  const key = publicKeyOf(publicKey);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (!verifyCheckpoint(cp, key))
      return {
        ok: false,
        checked: i,
        badIndex: i,
        kind: "signature",
        message: `checkpoint ${i} (${cp.payload?.createdAt ?? "?"}) has an invalid signature`,
      };
    const prev = cps[i - 1];
    if (prev && cp.payload.prevSignature !== prev.signature) {
      const kind = cps.some((x, j) => j > i && x.signature === cp.payload.prevSignature)
        ? "reordered"
        : prev.payload.seq !== undefined && cp.payload.seq !== undefined && cp.payload.seq > prev.payload.seq + 1
          ? "removed"
          : "inserted";
      return {
        ok: false,
        checked: i,
        badIndex: i,
        kind,
        message: `checkpoint ${i} (${cp.payload.createdAt}) does not follow checkpoint ${i - 1}: one was removed, inserted or reordered`,
      };
    }
    if (prev && prev.payload.seq !== undefined && cp.payload.seq !== prev.payload.seq + 1)
      return {
        ok: false,
        checked: i,
        badIndex: i,
        kind: "removed",
        message: `checkpoint ${i} is number ${cp.payload.seq ?? "?"} after number ${prev.payload.seq}: the log is not numbered without gaps`,
      };
  }
  const last = cps[cps.length - 1];
  const lastSeq = last?.payload.seq;
  if (options.witness && options.witness.length > 0) {
    const known = new Set(cps.map((c) => c.signature));
    for (let i = options.witness.length - 1; i >= 0; i--) {
      const w = options.witness[i]!;
      if (!verifyCheckpoint(w, key)) continue; // a forged witness line proves nothing
      if (!known.has(w.signature))
        return {
          ok: false,
          checked: cps.length,
          badIndex: cps.length,
          kind: "dropped",
          ...(lastSeq !== undefined ? { lastSeq } : {}),
          message: `checkpoint ${w.payload.seq ?? "?"} of ${w.payload.createdAt}, held by the witness, is missing from the log (which ends at ${lastSeq ?? cps.length}): the newest checkpoints were dropped`,
        };
      break; // the newest valid witness checkpoint is present; the links cover everything before it
    }
  }
  return { ok: true, checked: cps.length, ...(lastSeq !== undefined ? { lastSeq } : {}) };
}
