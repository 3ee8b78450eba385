import { createHash, randomBytes } from "node:crypto";

/**
 * A deterministic id for dedupe: the same parts always give the same id, different parts give
 * different ids (SHA-256 over a length-prefixed encoding, so ("ab","c") and ("a","bc") differ).
 * 26 base32 characters = 130 bits; collisions are not a practical concern.
 */
export function stableId(...parts: ReadonlyArray<string | number | boolean | null | undefined>): string {
  const h = createHash("sha256");
  for (const part of parts) {
    const s = part === null ? "\u0000null" : part === undefined ? "\u0000undefined" : `${typeof part}:${String(part)}`;
    h.update(`${Buffer.byteLength(s)}:`);
    h.update(s);
  }
  return toBase32(h.digest()).slice(0, 26);
}

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function toBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

let lastMs = -1;
let lastRandom: Uint8Array = new Uint8Array(10);

/**
 * A random id that sorts by creation time (ULID layout: 48-bit milliseconds then 80 random bits,
 * 26 base32 characters). Ids made in the same millisecond by this process still sort in order of
 * creation: the random part is incremented instead of redrawn.
 */
export function sortableId(nowMs: number = Date.now()): string {
  let random: Uint8Array;
  if (nowMs <= lastMs) {
    random = lastRandom;
    for (let i = random.length - 1; i >= 0; i--) {
      const v = random[i]! + 1;
      random[i] = v & 0xff;
      if (v <= 0xff) break;
    }
    nowMs = lastMs;
  } else {
    random = new Uint8Array(randomBytes(10));
    lastMs = nowMs;
  }
  lastRandom = random;
  let time = "";
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + toBase32(random).slice(0, 16);
}

/** A prefixed sortable id, e.g. `prefixedId("inc") -> "inc_01j…"`. */
export function prefixedId(prefix: string, nowMs?: number): string {
  return `${prefix}_${sortableId(nowMs)}`;
}
