/**
 * SHA-1 of the UTF-8 bytes of a string, as 40 lowercase hex digits. Synchronous and free of Node
 * APIs, so LaunchDarkly-mode bucketing runs unchanged in browsers and edge runtimes (WebCrypto's
 * digest is async). Lone surrogates encode as U+FFFD, as `Buffer` and `TextEncoder` do.
 */
export function sha1Hex(input: string): string {
  const len = encode(input);
  const blocks = ((len + 8) >> 6) + 1;
  const words = blocks * 16;
  if (W.length < words) W = new Uint32Array(words * 2);
  const w = W;
  w.fill(0, 0, words);
  for (let i = 0; i < len; i++) w[i >> 2]! |= B[i]! << (24 - (i & 3) * 8);
  w[len >> 2]! |= 0x80 << (24 - (len & 3) * 8);
  const bitLen = len * 8;
  w[words - 1] = bitLen >>> 0;
  w[words - 2] = Math.floor(bitLen / 0x100000000);
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const m = M;
  for (let b = 0; b < blocks; b++) {
    for (let t = 0; t < 16; t++) m[t] = w[b * 16 + t]!;
    for (let t = 16; t < 80; t++) {
      const x = m[t - 3]! ^ m[t - 8]! ^ m[t - 14]! ^ m[t - 16]!;
      m[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let bb = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let t = 0; t < 20; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + m[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    for (let t = 20; t < 40; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + m[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    for (let t = 40; t < 60; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + m[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    for (let t = 60; t < 80; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + m[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return hex(h0) + hex(h1) + hex(h2) + hex(h3) + hex(h4);
}

// Scratch buffers reused across calls (evaluation is synchronous, so never shared concurrently).
let B = new Uint8Array(256);
let W = new Uint32Array(128);
const M = new Uint32Array(80);

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** Writes the UTF-8 bytes of `s` into `B`; returns the length. */
function encode(s: string): number {
  if (B.length < s.length * 3) B = new Uint8Array(s.length * 3);
  const out = B;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}
