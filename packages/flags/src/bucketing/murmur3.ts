// MurmurHash3 x86_32 (Austin Appleby's public-domain algorithm), written to run over a string's
// UTF-8 bytes WITHOUT encoding it into a buffer: the hot path must not allocate. A precomputed
// prefix state lets a rollout hash `salt:` once per change and only the unit per evaluation.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Hash state after some bytes: the running hash, the pending tail word and the byte count. */
export interface Murmur3State {
  readonly h: number;
  readonly tail: number;
  readonly tailLen: number;
  readonly len: number;
}

// Module-level registers: the streaming loop keeps its state here instead of in an object.
let H = 0;
let K = 0;
let N = 0;
let L = 0;

function feed(byte: number): void {
  K |= byte << (N << 3);
  N += 1;
  L += 1;
  if (N === 4) {
    let k = Math.imul(K, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    H ^= k;
    H = (H << 13) | (H >>> 19);
    H = (Math.imul(H, 5) + 0xe6546b64) | 0;
    K = 0;
    N = 0;
  }
}

function feedUtf8(s: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      feed(c);
      continue;
    }
    if (c < 0x800) {
      feed(0xc0 | (c >> 6));
      feed(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
        feed(0xf0 | (c >> 18));
        feed(0x80 | ((c >> 12) & 0x3f));
        feed(0x80 | ((c >> 6) & 0x3f));
        feed(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder and Buffer do
    }
    feed(0xe0 | (c >> 12));
    feed(0x80 | ((c >> 6) & 0x3f));
    feed(0x80 | (c & 0x3f));
  }
}

// Unleash's murmurhash3js reads `charCodeAt(i) & 0xff`: one byte per UTF-16 code unit.
function feedLowBytes(s: string): void {
  for (let i = 0; i < s.length; i++) feed(s.charCodeAt(i) & 0xff);
}

function finish(): number {
  let h = H;
  if (N > 0) {
    let k = Math.imul(K, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= L;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function load(state: Murmur3State): void {
  H = state.h;
  K = state.tail;
  N = state.tailLen;
  L = state.len;
}

function save(): Murmur3State {
  return { h: H, tail: K, tailLen: N, len: L };
}

/** The state after hashing `prefix` (UTF-8), to continue with `murmur3Continue`. */
export function murmur3Prefix(prefix: string, seed = 0): Murmur3State {
  load({ h: seed | 0, tail: 0, tailLen: 0, len: 0 });
  feedUtf8(prefix);
  return save();
}

/**
 * murmur3_x86_32(prefix + s) over UTF-8, continuing from a prefix state. Allocation-free. The
 * hot path: state lives in locals (module-level registers are context slots, ~2x slower), and
 * ASCII input takes the short branch.
 */
export function murmur3Continue(state: Murmur3State, s: string): number {
  let h = state.h;
  let k = state.tail;
  let n = state.tailLen;
  let len = state.len;
  const sl = s.length;
  let i = 0;
  // ASCII first: complete the prefix's pending block one character at a time, then whole
  // four-character blocks with nothing but the loop test (one byte per character, so the byte
  // count is the character count). The first non-ASCII character hands over to the general loop.
  while (n !== 0 && i < sl) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    k |= c << (n << 3);
    i++;
    if (++n === 4) {
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      k = 0;
      n = 0;
    }
  }
  if (n === 0) {
    const end = sl - 3;
    while (i < end) {
      const c0 = s.charCodeAt(i);
      const c1 = s.charCodeAt(i + 1);
      const c2 = s.charCodeAt(i + 2);
      const c3 = s.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) >= 0x80) break;
      k = Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      i += 4;
    }
    k = 0;
  }
  len += i;
  for (; i < sl; i++) {
    let c = s.charCodeAt(i);
    let bytes: number; // up to 4 UTF-8 bytes packed little-endian
    let count: number;
    if (c < 0x80) {
      bytes = c;
      count = 1;
    } else if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < sl ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i += 1;
        } else c = 0xfffd;
      }
      if (c >= 0x10000) {
        bytes = 0xf0 | (c >> 18) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
        count = 4;
      } else {
        bytes = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      }
    }
    for (let j = 0; j < count; j++) {
      k |= ((bytes >>> (j << 3)) & 0xff) << (n << 3);
      n += 1;
      if (n === 4) {
        k = Math.imul(k, C1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, C2);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        k = 0;
        n = 0;
      }
    }
    len += count;
  }
  if (n > 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `s`, unsigned. */
export function murmur3(s: string, seed = 0): number {
  load({ h: seed | 0, tail: 0, tailLen: 0, len: 0 });
  feedUtf8(s);
  return finish();
}

/** The Unleash Node SDK's variant: one byte per UTF-16 code unit (`charCodeAt & 0xff`). */
export function murmur3LowBytesPrefix(prefix: string, seed = 0): Murmur3State {
  load({ h: seed | 0, tail: 0, tailLen: 0, len: 0 });
  feedLowBytes(prefix);
  return save();
}

export function murmur3LowBytesContinue(state: Murmur3State, s: string): number {
  load(state);
  feedLowBytes(s);
  return finish();
}
