/** A parsed semantic version (build metadata ignored, as SemVer 2.0.0 says). */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre: readonly (string | number)[];
}

const RE = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `1.2.3`, `v1.2.3-rc.1+build`; null when not a version. */
export function parseSemver(s: string): SemVer | null {
  const m = RE.exec(s);
  if (!m) return null;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    pre: m[4] ? m[4].split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
  };
}

/** SemVer 2.0.0 precedence: -1, 0 or 1. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x < y ? -1 : 1;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * `compareSemver(parse(s), target)` without allocating for plain `major.minor.patch` (optionally
 * `v`-prefixed) strings, the common case on the hot path; anything else goes through
 * `parseSemver`. Null when `s` is not a version.
 */
export function compareSemverTo(s: string, target: SemVer): number | null {
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 118 ? 1 : 0; // "v"
  let part = 0;
  let cur = 0;
  let digits = 0;
  let first = 0;
  let cmp = 0;
  for (; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      cur = cur * 10 + (c - 48);
      digits++;
      if (digits > 15) return slow(s, target);
      continue;
    }
    if (c !== 46 || digits === 0 || (digits > 1 && first === 48) || part > 2) return slow(s, target);
    if (cmp === 0) {
      const t = part === 0 ? target.major : part === 1 ? target.minor : target.patch;
      if (cur !== t) cmp = cur < t ? -1 : 1;
    }
    part++;
    cur = 0;
    digits = 0;
    if (i === n) break;
  }
  if (part !== 3) return slow(s, target);
  if (cmp !== 0) return cmp;
  return target.pre.length === 0 ? 0 : 1;
}

function slow(s: string, target: SemVer): number | null {
  const v = parseSemver(s);
  return v === null ? null : compareSemver(v, target);
}
