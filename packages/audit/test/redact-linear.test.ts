import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryAuditStore } from "@ops/adapter-memory";
import { REDACTED, auditMetaSafe, createAuditLog, redactString, type RedactOptions } from "@ops/audit";

// The patterns as regular expressions (what redaction did before the scanners): the reference for
// what must be masked. Quadratic on hostile input, so only run on short strings here.
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/-]{8,}=*/gi;
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,256}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}/g;
const PREFIX =
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bAKIA[0-9A-Z]{16}\b|\bxox[abpors]-[A-Za-z0-9-]{10,}/g;
const URL_PASSWORD = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]{0,256}):([^\s/?#@]{1,1024})@/gi;
const PARAM = /(^|[?&#;\s])([A-Za-z0-9_.\[\]-]{1,100})=([^&#;\s]+)/g;
const SECRET = /password|secret|token|signature|^pwd$/i;

function luhn(d: string): boolean {
  let sum = 0;
  for (let i = d.length - 1, dbl = false; i >= 0; i--, dbl = !dbl) {
    let x = d.charCodeAt(i) - 48;
    if (dbl && (x *= 2) > 9) x -= 9;
    sum += x;
  }
  return sum % 10 === 0;
}

function reference(s: string, maskEmails: boolean): string {
  let out = s
    .replace(JWT, REDACTED)
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(PREFIX, REDACTED)
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(PARAM, (m, pre: string, name: string) => (SECRET.test(name) ? `${pre}${name}=${REDACTED}` : m))
    .replace(CARD, (m) => {
      const d = m.replace(/[ -]/g, "");
      return luhn(d) ? `${REDACTED}:card-${d.slice(-4)}` : m;
    });
  if (maskEmails) out = out.replace(EMAIL, `${REDACTED}:email`);
  return out;
}

// Deny list equal to the reference's SECRET test, and no built-in key matching it does not know.
const opts = (maskEmails: boolean): RedactOptions => ({
  maskEmails,
  maxStringLength: 1 << 20,
  denyKeys: [SECRET],
  allowKeys: [/^(?!.*(password|secret|token|signature)|pwd$)/i],
});

/** Every prefix and separator the patterns key on, and the characters that continue their runs. */
const PIECES = [
  "eyJ",
  "eyJ-",
  ".",
  "-",
  "_",
  "Bearer ",
  "basic\t",
  "Token",
  "sk_live_",
  "rk_test_",
  "ghp_",
  "AKIA",
  "xoxb-",
  "://",
  ":",
  "@",
  "a",
  "Z",
  "0",
  "9",
  "4111",
  "1 ",
  "1-",
  " ",
  "=",
  "&",
  "?",
  "#",
  ";",
  "password=",
  "token",
  "user",
  "x.y",
  "%",
  "+",
  "/",
  "[",
  "]",
  "http",
  "postgres://u:p@h",
  "ann@example.com",
  "a.b@",
  "\u00a0",
];
const hostile = fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }).map((a) => a.join(""));

describe("redactString: linear scanners", () => {
  it("masks exactly what the reference patterns mask (property, short hostile strings)", () => {
    void fc.assert(
      fc.property(hostile, fc.boolean(), (s, maskEmails) => {
        expect(redactString(s, opts(maskEmails))).toBe(reference(s, maskEmails));
      }),
      { numRuns: 3000, seed: 20261203 },
    );
  });

  it("agrees with the reference on repetitions of each prefix and separator", () => {
    void fc.assert(
      fc.property(
        fc.constantFrom(...PIECES),
        fc.constantFrom(...PIECES),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        (a, b, n, maskEmails) => {
          const s = (a + b).repeat(n);
          expect(redactString(s, opts(maskEmails))).toBe(reference(s, maskEmails));
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it("handles 1 MB of each repeated prefix/separator and still masks a secret placed after it", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    const secrets = [
      [jwt, REDACTED],
      ["Bearer abcdefghijklmnop", `Bearer ${REDACTED}`],
      ["xoxb-1234567890abc", REDACTED],
      ["postgres://admin:hunter2@db", `postgres://admin:${REDACTED}@db`],
      ["password=hunter2", `password=${REDACTED}`],
      ["4111 1111 1111 1111", `${REDACTED}:card-1111`],
      ["ann@example.com", `${REDACTED}:email`],
    ] as const;
    const units = ["eyJ-", "eyJ", "://:", "://", "xoxb-", "a@", "a.", "1 ", "Bearer ", "sk_live_", "=", "?a=", "a:", ":"];
    for (const unit of units) {
      const prefix = unit.repeat(Math.ceil(1_000_000 / unit.length)).slice(0, 1_000_000);
      // The repetition itself is masked as the reference masks a sample of it.
      expect(redactString(prefix.slice(0, 4000), { maskEmails: true, maxStringLength: 2 << 20, denyKeys: [SECRET] })).toBe(
        reference(prefix.slice(0, 4000), true),
      );
      const r = redactString(`${prefix} ${secrets.map(([secret]) => secret).join(" , ")} end`, {
        maskEmails: true,
        maxStringLength: 2 << 20,
      });
      expect(r.endsWith(` ${secrets.map(([, masked]) => masked).join(" , ")} end`), unit).toBe(true);
    }
  });

  it("cuts before scanning: a 5 MB string is cut to maxStringLength and what is kept is masked", () => {
    const big = `Bearer abcdefghijklmnop ${"eyJ-".repeat(1_300_000)}`;
    const out = redactString(big, { maxStringLength: 100 });
    expect(out.startsWith(`Bearer ${REDACTED} eyJ-`)).toBe(true);
    expect(out).toMatch(/…\[\d+ more\]$/);
    expect(out.length).toBeLessThan(200);
  });
});

describe("auditMetaSafe: bounds and prototypes", () => {
  it("clamps maxDepth: a huge maxDepth on deep input never throws", () => {
    let deep: Record<string, unknown> = { leaf: "Bearer abcdefghijkl" };
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    const out = auditMetaSafe(deep, { maxDepth: 1e6 });
    expect(JSON.stringify(out)).toContain("[Truncated]");
    let depth = 0;
    for (let o: unknown = out; o && typeof o === "object"; o = (o as { next?: unknown }).next) depth++;
    expect(depth).toBeLessThanOrEqual(33);
    expect(auditMetaSafe({ a: { b: 1 } }, { maxDepth: -5 })).toEqual({ a: "[Truncated]" });
    expect(auditMetaSafe({ a: 1 }, { maxDepth: Number.NaN })).toEqual({ a: 1 });
  });

  it("keeps __proto__, constructor and prototype as data without touching prototypes", () => {
    const input = JSON.parse(
      '{"__proto__":{"polluted":"yes","password":"p"},"constructor":{"prototype":{"x":1}},"prototype":"Bearer abcdefghijkl"}',
    ) as unknown;
    const out = auditMetaSafe(input);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out).sort()).toEqual(["__proto__", "constructor", "prototype"]);
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse(
        `{"__proto__":{"polluted":"yes","password":"${REDACTED}"},"constructor":{"prototype":{"x":1}},"prototype":"Bearer ${REDACTED}"}`,
      ),
    );
    const own = Object.getOwnPropertyDescriptor(out, "__proto__");
    expect(own?.value).toEqual({ polluted: "yes", password: REDACTED });
  });

  it("stores __proto__ keys as data through createAuditLog and the chain verifies", async () => {
    const log = createAuditLog({ store: new MemoryAuditStore(), env: "prod" });
    const rec = await log.append({
      action: "CONFIG_CHANGE",
      actorUserId: "u",
      meta: JSON.parse('{"__proto__":{"isAdmin":true},"ok":1}') as Record<string, never>,
    });
    expect(Object.getPrototypeOf(rec.meta)).toBe(Object.prototype);
    expect((rec.meta as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(rec.meta, "__proto__")?.value).toEqual({ isAdmin: true });
    expect((await log.verify({ tenantId: null })).ok).toBe(true);
  });

  it("caps work per call: values beyond the cap become [Truncated]", () => {
    const wide = Array.from({ length: 300_000 }, (_, i) => i);
    const out = auditMetaSafe({ wide }, { maxDepth: 4 });
    const arr = out.wide as unknown[];
    expect(arr.length).toBeLessThanOrEqual(100_000);
    expect(arr[arr.length - 1]).toBe("[Truncated]");
  });

  it("createAuditLog refuses oversized meta before scanning it", async () => {
    const log = createAuditLog({ store: new MemoryAuditStore(), env: "prod" });
    const meta = { parts: Array.from({ length: 2000 }, () => "eyJ-".repeat(1000)) };
    await expect(log.append({ action: "CONFIG_CHANGE", actorUserId: "u", meta })).rejects.toThrow(/meta: expected at most 16384 bytes/);
  });
});

describe("free-text fields are redacted like meta", () => {
  it("reason, actor.userAgent and target.name", async () => {
    const log = createAuditLog({ store: new MemoryAuditStore(), env: "prod", redact: { maskEmails: true } });
    const rec = await log.append({
      action: "DATA_EXPORT",
      actor: { id: "u1", type: "user", userAgent: "curl/8 Authorization: Bearer abcdefghijklmnop" },
      target: { id: "r1", name: "report for ann@example.com token=s3cr3tvalue" },
      reason: "password=hunter2 card 4111 1111 1111 1111 see https://x.io/?access_token=abc123",
    });
    expect(rec.reason).toBe(`password=${REDACTED} card ${REDACTED}:card-1111 see https://x.io/?access_token=${REDACTED}`);
    expect(rec.actor.userAgent).toBe(`curl/8 Authorization: Bearer ${REDACTED}`);
    expect(rec.target?.name).toBe(`report for ${REDACTED}:email token=${REDACTED}`);
    expect(JSON.stringify(rec)).not.toMatch(/hunter2|abcdefghijklmnop|s3cr3tvalue|abc123|ann@example/);
  });
});

describe("redactString on the bench's adversarial 1 MB inputs: correct results (not timed)", () => {
  // The shapes of bench/src/cases/audit-redact.ts: dense near-misses of every scanner.
  const shapes: Record<string, string> = {
    bearer: "Bearer ",
    basic: "Basic\t",
    token: "token ",
    at: "a@",
    atDot: "a@b.",
    digits: "1",
    digitsSpaced: "1 ",
    base64: "aGVsbG8gd29ybGQ+/=",
    jwtStart: "eyJ-",
    url: "://:",
    slack: "xoxb-",
    param: "?a=",
    mixed: "Bearer a@b. 4111 eyJx. ://u: token=",
  };
  const mb = (unit: string) => unit.repeat(Math.ceil((1 << 20) / unit.length)).slice(0, 1 << 20);
  const big = { maskEmails: true, maxStringLength: 2 << 20 };

  for (const [name, unit] of Object.entries(shapes)) {
    it(`${name}: masks exactly what the patterns mask, and a real secret after it`, () => {
      const s = mb(unit);
      // The reference patterns are quadratic here: they check a 4,000-character prefix.
      expect(redactString(s.slice(0, 4000), big)).toBe(reference(s.slice(0, 4000), true));
      // Among these only "token=<value>" and the endless "xoxb-xoxb-..." key are secrets; every
      // near-miss stays as it was. Masking may lengthen the text past 1 MiB: then it is cut.
      const masked = name === "mixed" ? s.replaceAll("token=Bearer", `token=${REDACTED}`) : name === "slack" ? REDACTED : s;
      const expected = masked.length > 1 << 20 ? `${masked.slice(0, 1 << 20)}…[${masked.length - (1 << 20)} more]` : masked;
      expect(redactString(s, big) === expected, name).toBe(true);
      const tail = " Bearer abcdefghijklmnop ann@example.com 4111 1111 1111 1111 postgres://u:hunter2@db";
      // Short of 1 MiB, so that what masking adds is not cut (redactString keeps at most 1 MiB).
      expect(
        redactString(`${s.slice(0, 700_000)}${tail}`, big).endsWith(
          ` Bearer ${REDACTED} ${REDACTED}:email ${REDACTED}:card-1111 postgres://u:${REDACTED}@db`,
        ),
      ).toBe(true);
    });
  }
});
