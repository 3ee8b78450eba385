// Hand-written scanners for the secret patterns `redactString` masks. Regular expressions with an
// unbounded run after a short prefix ("eyJ", "xoxb-", "://") are quadratic on a string that
// repeats the prefix: the engine restarts at every occurrence and rescans the same run. Each
// scanner below visits every character a bounded number of times, so time grows linearly with the
// input whatever it holds. They reproduce the matches of the patterns documented in redact.ts.

const enum C {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Hash = 35,
  Percent = 37,
  Amp = 38,
  Plus = 43,
  Dash = 45,
  Dot = 46,
  Slash = 47,
  D0 = 48,
  D9 = 57,
  Colon = 58,
  Semi = 59,
  Eq = 61,
  Question = 63,
  At = 64,
  A = 65,
  Z = 90,
  LBracket = 91,
  RBracket = 93,
  Under = 95,
  a = 97,
  z = 122,
  Tilde = 126,
}

// Character classes as bits of a 128-entry table (every class but the negated ones is ASCII only).
const DIGIT = 1,
  ALPHA = 2,
  WORD = 4,
  B64U = 8,
  CRED = 16,
  SCHEME = 32,
  LOCAL = 64,
  DOMAIN = 128,
  PNAME = 256,
  UPPER = 512,
  SPACE = 1024,
  NOT_USER = 2048,
  NOT_PASS = 4096,
  NOT_VALUE = 8192,
  PSEP = 16384,
  DASH = 32768;
const T = new Uint16Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  let m = 0;
  if (/[0-9]/.test(ch)) m |= DIGIT;
  if (/[A-Za-z]/.test(ch)) m |= ALPHA;
  if (/[A-Z]/.test(ch)) m |= UPPER;
  if (/\w/.test(ch)) m |= WORD;
  if (/[A-Za-z0-9_-]/.test(ch)) m |= B64U;
  if (/[A-Za-z0-9._~+/-]/.test(ch)) m |= CRED;
  if (/[a-z0-9+.-]/i.test(ch)) m |= SCHEME;
  if (/[A-Za-z0-9._%+-]/.test(ch)) m |= LOCAL;
  if (/[A-Za-z0-9.-]/.test(ch)) m |= DOMAIN;
  if (/[A-Za-z0-9_.\[\]-]/.test(ch)) m |= PNAME;
  if (/\s/.test(ch)) m |= SPACE;
  // Members of the negated classes are everything but these (non-ASCII: everything but \s).
  if (/[\s:/?#@]/.test(ch)) m |= NOT_USER;
  if (/[\s/?#@]/.test(ch)) m |= NOT_PASS;
  if (/[&#;\s]/.test(ch)) m |= NOT_VALUE;
  if (/[?&#;\s]/.test(ch)) m |= PSEP;
  if (ch === "-") m |= DASH;
  T[c] = m;
}

/** Non-ASCII `\s`. */
function isWideSpace(c: number): boolean {
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
function is(c: number, cls: number): boolean {
  return c < 128 && (T[c]! & cls) !== 0;
}
function isSpace(c: number): boolean {
  return c < 128 ? (T[c]! & SPACE) !== 0 : isWideSpace(c);
}
/** Member of a negated class `[^...\s]` whose ASCII exclusions are `notCls`. */
function inNeg(c: number, notCls: number): boolean {
  return c < 128 ? (T[c]! & notCls) === 0 : !isWideSpace(c);
}
const isWord = (c: number) => is(c, WORD);
const isDigit = (c: number) => is(c, DIGIT);
const isAlpha = (c: number) => is(c, ALPHA);

/** `\b` before position i (the character at i being a word character). */
function wordStart(s: string, i: number): boolean {
  return i === 0 || !isWord(s.charCodeAt(i - 1));
}

/** End of the run of class `cls` (ASCII bits) from `from`, stopping at `limit`. */
function runEnd(s: string, from: number, cls: number, limit = s.length): number {
  const lim = limit < s.length ? limit : s.length;
  let j = from;
  while (j < lim) {
    const c = s.charCodeAt(j);
    if (c >= 128 || (T[c]! & cls) === 0) break;
    j++;
  }
  return j;
}

function runSpaces(s: string, from: number): number {
  let j = from;
  while (j < s.length && isSpace(s.charCodeAt(j))) j++;
  return j;
}

/** Case-insensitive ASCII `word` at i (word is lower case). */
function wordAt(s: string, i: number, word: string): boolean {
  if (i + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) if ((s.charCodeAt(i + k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/** End of the run of the negated class `[^...\s]` from `from`. */
function negRunEnd(s: string, from: number, notCls: number, limit = s.length): number {
  const lim = limit < s.length ? limit : s.length;
  let j = from;
  while (j < lim && inNeg(s.charCodeAt(j), notCls)) j++;
  return j;
}

/**
 * Collects replacements in order. Pieces are joined 512 at a time into one flat chunk: a dense
 * input (a secret every few characters) would otherwise keep one live string per piece until the
 * end, and every young-generation collection would copy them all again.
 */
class Edits {
  private readonly chunks: string[] = [];
  private readonly parts: string[] = [];
  private at = 0;
  private edited = false;
  constructor(private readonly s: string) {}
  replace(start: number, end: number, text: string): void {
    if (start > this.at) this.parts.push(this.s.slice(this.at, start));
    this.parts.push(text);
    this.at = end;
    this.edited = true;
    if (this.parts.length >= 512) {
      this.chunks.push(this.parts.join(""));
      this.parts.length = 0;
    }
  }
  done(): string {
    if (!this.edited) return this.s;
    if (this.at < this.s.length) this.parts.push(this.s.slice(this.at));
    this.chunks.push(this.parts.join(""));
    return this.chunks.length === 1 ? this.chunks[0]! : this.chunks.join("");
  }
}

/** `\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*` */
export function maskJwts(s: string, mask: string): string {
  const e = new Edits(s);
  let i = s.indexOf("eyJ");
  while (i >= 0) {
    let next = i + 1;
    if (wordStart(s, i)) {
      const r1 = runEnd(s, i + 3, B64U);
      if (r1 - (i + 3) >= 5 && s.charCodeAt(r1) === 46) {
        const r2 = runEnd(s, r1 + 1, B64U);
        if (r2 - (r1 + 1) >= 5 && s.charCodeAt(r2) === 46) {
          const r3 = runEnd(s, r2 + 1, B64U);
          e.replace(i, r3, mask);
          next = r3;
        } else next = r1;
      } else {
        // Any later start inside this run ends where it ends, with a shorter run: skip it.
        next = Math.max(r1, i + 1);
      }
    }
    i = s.indexOf("eyJ", next);
  }
  return e.done();
}

/** `\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/-]{8,}=*` (case-insensitive), keeping the scheme. */
export function maskAuthSchemes(s: string, mask: string): string {
  const e = new Edits(s);
  const n = s.length;
  let i = 0;
  while (i < n) {
    // Dispatch on the first two letters: one compare per character off the candidates.
    const c = s.charCodeAt(i) | 0x20;
    let len = 0;
    if ((c !== 98 && c !== 116) || !wordStart(s, i)) {
      i++;
      continue;
    }
    if (c === 98) {
      const c1 = s.charCodeAt(i + 1) | 0x20;
      if (c1 === 101) len = wordAt(s, i, "bearer") ? 6 : 0;
      else if (c1 === 97) len = wordAt(s, i, "basic") ? 5 : 0;
    } else if (c === 116) len = wordAt(s, i, "token") ? 5 : 0;
    if (len === 0) {
      i++;
      continue;
    }
    const ws = runSpaces(s, i + len);
    const cred = ws === i + len ? ws : runEnd(s, ws, CRED);
    if (ws === i + len || cred - ws < 8) {
      // No other scheme starts inside this word (its letters are not word starts).
      i += len;
      continue;
    }
    let end = cred;
    while (end < n && s.charCodeAt(end) === 61) end++;
    e.replace(i, end, `${s.slice(i, i + len)} ${mask}`);
    i = end;
  }
  return e.done();
}

interface Prefix {
  text: string;
  caseSensitive: true;
  /** Characters of the body after the prefix. */
  body: number;
  min: number;
  /** Exact body length followed by `\b` (AKIA keys). */
  exact?: boolean;
}

const ALNUM = DIGIT | ALPHA;
const ALNUM_DASH = DIGIT | ALPHA | DASH;
const PROVIDER_PREFIXES: Prefix[] = [
  ...["sk", "rk", "pk"].flatMap((p) =>
    ["live", "test"].map((m) => ({ text: `${p}_${m}_`, caseSensitive: true as const, body: ALNUM, min: 10 })),
  ),
  ..."pousr".split("").map((x) => ({ text: `gh${x}_`, caseSensitive: true as const, body: ALNUM, min: 20 })),
  { text: "AKIA", caseSensitive: true, body: UPPER | DIGIT, min: 16, exact: true },
  ..."abpors".split("").map((x) => ({ text: `xox${x}-`, caseSensitive: true as const, body: ALNUM_DASH, min: 10 })),
];

/**
 * `\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}`, `\bgh[pousr]_[A-Za-z0-9]{20,}`,
 * `\bAKIA[0-9A-Z]{16}\b`, `\bxox[abpors]-[A-Za-z0-9-]{10,}`.
 */
export function maskProviderKeys(s: string, mask: string): string {
  const e = new Edits(s);
  const n = s.length;
  let xoxSkip = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // First letters of every prefix: s r p g A x.
    if (c !== 115 && c !== 114 && c !== 112 && c !== 103 && c !== 65 && c !== 120) continue;
    if (!wordStart(s, i)) continue;
    for (const p of PROVIDER_PREFIXES) {
      if (!s.startsWith(p.text, i) || (p.body === ALNUM_DASH && i < xoxSkip)) continue;
      const from = i + p.text.length;
      if (p.exact) {
        const end = runEnd(s, from, p.body, from + p.min);
        if (end - from === p.min && (end === n || !isWord(s.charCodeAt(end)))) {
          e.replace(i, end, mask);
          i = end - 1;
        }
        break;
      }
      const end = runEnd(s, from, p.body);
      if (end - from >= p.min) {
        e.replace(i, end, mask);
        i = end - 1;
      } else if (p.body === ALNUM_DASH) {
        // "xoxb-xoxb-...": a later "xox" start inside this run ends where it ends, with less.
        // (Other bodies hold no "-", so no prefix can start inside them.)
        xoxSkip = end;
      }
      break;
    }
  }
  return e.done();
}

/** `(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://[^\s:/?#@]{0,256}):([^\s/?#@]{1,1024})@` (case-insensitive), keeping the user. */
export function maskUrlPasswords(s: string, mask: string): string {
  const e = new Edits(s);
  let p = s.indexOf("://");
  while (p >= 0) {
    let next = p + 3;
    // The scheme is the whole run of scheme characters before "://" (none may precede it).
    let start = p;
    while (start > 0 && p - start <= 32 && is(s.charCodeAt(start - 1), SCHEME)) start--;
    const schemeOk = start < p && p - start <= 32 && (start === 0 || !is(s.charCodeAt(start - 1), SCHEME)) && isAlpha(s.charCodeAt(start));
    if (schemeOk) {
      // Both runs stop at "/", so neither crosses the next "://": every character is read a bounded number of times.
      const user = negRunEnd(s, p + 3, NOT_USER, p + 3 + 257);
      if (user - (p + 3) <= 256 && s.charCodeAt(user) === 58) {
        const pass = negRunEnd(s, user + 1, NOT_PASS, user + 1 + 1025);
        const len = pass - (user + 1);
        if (len >= 1 && len <= 1024 && s.charCodeAt(pass) === 64) {
          e.replace(user + 1, pass, mask);
          next = pass + 1;
        }
      }
    }
    p = s.indexOf("://", next);
  }
  return e.done();
}

/** `(^|[?&#;\s])([A-Za-z0-9_.\[\]-]{1,100})=([^&#;\s]+)`: masks the value when `secret(name)`. */
export function maskSecretParams(s: string, mask: string, secret: (name: string) => boolean): string {
  const e = new Edits(s);
  const n = s.length;
  let i = 0;
  while (i < n) {
    // A name starts at the beginning or right after a separator.
    const nameStart = i;
    const nameEnd = runEnd(s, nameStart, PNAME, nameStart + 101);
    const len = nameEnd - nameStart;
    if (len >= 1 && len <= 100 && s.charCodeAt(nameEnd) === 61) {
      const vEnd = negRunEnd(s, nameEnd + 1, NOT_VALUE);
      if (vEnd > nameEnd + 1) {
        if (secret(s.slice(nameStart, nameEnd))) e.replace(nameEnd + 1, vEnd, mask);
        i = vEnd;
      }
    }
    // The next candidate follows the next separator.
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 128 ? (T[c]! & PSEP) !== 0 : isWideSpace(c)) break;
      i++;
    }
    i++;
  }
  return e.done();
}

/** `\b\d(?:[ -]?\d){12,18}\b`, masked when Luhn-valid (keeping the last 4 digits). */
export function maskCards(s: string, mask: string): string {
  const e = new Edits(s);
  const n = s.length;
  // Positions of the digits taken greedily from a start (at most 19).
  const at = new Int32Array(19);
  for (let i = 0; i < n; i++) {
    const c0 = s.charCodeAt(i);
    if (c0 < 48 || c0 > 57 || !wordStart(s, i)) continue;
    let count = 1;
    at[0] = i;
    let j = i + 1;
    while (count < 19 && j < n) {
      const c = s.charCodeAt(j);
      if (c >= 48 && c <= 57) at[count++] = j++;
      else if ((c === 32 || c === 45) && j + 1 < n && isDigit(s.charCodeAt(j + 1))) {
        at[count++] = j + 1;
        j += 2;
      } else break;
    }
    // The longest count >= 13 that ends at a word boundary.
    let k = count;
    for (; k >= 13; k--) {
      const end = at[k - 1]! + 1;
      if (end === n || !isWord(s.charCodeAt(end))) break;
    }
    if (k < 13) {
      // No position inside this run of word characters is a word start: skip it.
      i = runEnd(s, i, WORD) - 1;
      continue;
    }
    const end = at[k - 1]! + 1;
    let sum = 0;
    for (let d = k - 1, dbl = false; d >= 0; d--, dbl = !dbl) {
      let x = s.charCodeAt(at[d]!) - 48;
      if (dbl && (x *= 2) > 9) x -= 9;
      sum += x;
    }
    if (sum % 10 === 0) {
      let last4 = "";
      for (let d = k - 4; d < k; d++) last4 += s[at[d]!];
      e.replace(i, end, `${mask}:card-${last4}`);
    }
    i = end - 1;
  }
  return e.done();
}

/** `(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,256}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}` */
export function maskEmails(s: string, mask: string): string {
  const e = new Edits(s);
  const n = s.length;
  let i = 0;
  outer: while (i < n) {
    if (!is(s.charCodeAt(i), LOCAL)) {
      i++;
      continue;
    }
    // i starts a run of local-part characters (the previous one is not one).
    let at = runEnd(s, i, LOCAL, i + 257);
    while (at - i <= 256 && s.charCodeAt(at) === 64) {
      const dStart = at + 1;
      const dEnd = runEnd(s, dStart, DOMAIN, dStart + 254);
      // Longest domain (<= 253) followed by "." and >= 2 letters: the last such dot.
      for (let d = Math.min(dEnd, dStart + 253); d >= dStart + 1; d--) {
        if (s.charCodeAt(d) === 46 && isAlpha(s.charCodeAt(d + 1)) && isAlpha(s.charCodeAt(d + 2))) {
          const tld = runEnd(s, d + 1, ALPHA, d + 1 + 63);
          e.replace(i, tld, mask);
          // A local-part character right after the match may not start a new one (the look-behind).
          i = runEnd(s, tld, LOCAL);
          continue outer;
        }
      }
      // No match from i. The next run starts right after "@" and covers the domain characters
      // just read (they are all local-part characters): continue from where they end.
      if (dEnd === dStart) {
        i = dStart;
        continue outer;
      }
      i = dStart;
      at = dEnd < dStart + 254 ? runEnd(s, dEnd, LOCAL, i + 257) : runEnd(s, i, LOCAL, i + 257);
    }
    // Skip the rest of this run: no match may start inside it.
    i = at - i <= 256 ? at : runEnd(s, i, LOCAL);
  }
  return e.done();
}
