// FNV-1a 32-bit over UTF-16 code units, as GrowthBook's SDK computes it, in streaming form so
// GrowthBook-compatible rollouts hash without building `seed + value` strings.

const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

/** Continues FNV-1a from `hval` over the code units of `s`. Pass `FNV_OFFSET` to start. */
export function fnv1aContinue(hval: number, s: string): number {
  let h = hval;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, PRIME);
  }
  return h >>> 0;
}

export const FNV_OFFSET = OFFSET;

/** FNV-1a over the decimal digits of a non-negative integer, without building its string. */
export function fnv1aOfDecimal(n: number): number {
  let h = OFFSET;
  let div = 1;
  while (div * 10 <= n) div *= 10;
  for (; div >= 1; div /= 10) {
    const digit = Math.floor(n / div) % 10;
    h ^= 48 + digit;
    h = Math.imul(h, PRIME);
  }
  return h >>> 0;
}
