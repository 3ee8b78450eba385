import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireService } from "@ops/testkit";
import { freshDatabase, startTestService, type TestService } from "./support.js";

// Property-based hostile input over every route of the example service and of the console API
// mounted in it: whatever arrives (deep nesting, NUL and lone surrogates, huge strings and
// numbers, prototype keys, broken JSON and escapes, another tenant's ids), the answer is a 4xx
// naming the field or a success, never a 5xx, never a hang, and the service stays live.
// OPS_FUZZ_RUNS sets the cases per route (under CI: 1,000 on PostgreSQL, 250 on PGlite).

// Under CI: 1,000 cases per route on PostgreSQL, 250 on PGlite (embedded, several times slower
// per request; the same handlers run on both).
const runsFor = (backend: string) => Number(process.env.OPS_FUZZ_RUNS ?? (process.env.CI ? (backend === "PostgreSQL" ? 1000 : 250) : 150));
const SEED = Number(process.env.OPS_FUZZ_SEED ?? Date.now() % 2 ** 31);
const pgUp = await requireService("postgres");

interface Route {
  method: string;
  path: string;
}

const APP_ROUTES: Route[] = [
  { method: "POST", path: "/api/signals" },
  { method: "GET", path: "/api/signals" },
  { method: "POST", path: "/api/ops/auth" },
  { method: "GET", path: "/livez" },
  { method: "GET", path: "/readyz" },
  { method: "GET", path: "/health" },
];

// Field names the routes read, so generated bodies reach past "unknown field" into the handlers.
const FIELDS = [
  "value",
  "reason",
  "enabled",
  "percentage",
  "tenantId",
  "key",
  "metrics",
  "context",
  "events",
  "type",
  "userId",
  "ip",
  "provider",
  "meta",
  "occurredAt",
  "matcher",
  "at",
  "patch",
  "id",
  "until",
  "comment",
  "keys",
  "subjectId",
  "failedLogins",
  "windowMs",
  "attributes",
];
const QUERY = ["limit", "cursor", "from", "to", "type", "userId", "ip", "tenant", "status", "action", "actor", "format", "q"];

const hostileString = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udc00y",
    "😀",
    "\u202e evil",
    "",
    " ",
    "__proto__",
    "constructor",
    "../../etc/passwd",
    "%00",
    "%ZZ",
    "'; DROP TABLE ops_audit; --",
    "1e999999",
    "-0",
    "NaN",
    "t1",
    "tenant_b",
    "checkout.new_flow",
    "2026-13-45T99:99:99Z",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => s.repeat(5_000)),
);

/** A value nested `depth` levels deep, written out as text at send time (JSON.stringify recurses). */
class Deep {
  constructor(
    readonly depth: number,
    readonly kind: "array" | "object",
  ) {}
  text(): string {
    return this.kind === "array"
      ? `${"[".repeat(this.depth)}1${"]".repeat(this.depth)}`
      : `${'{"a":'.repeat(this.depth)}1${"}".repeat(this.depth)}`;
  }
}
const deep = fc
  .tuple(fc.integer({ min: 60, max: 100_000 }), fc.constantFrom("array" as const, "object" as const))
  .map(([d, k]) => new Deep(d, k));

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  deep,
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, [], {}),
  fc.array(hostileString, { maxLength: 5 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 4 }),
);

// A valid body per route; mutated cases replace or add one field (top level or one level down)
// with a hostile value, so the input reaches the handler behind the schema's first checks.
const BASES: Array<[RegExp, Record<string, unknown>]> = [
  [/^\/api\/signals$/, { type: "login_failed", userId: "u1", ip: "10.0.0.1", provider: "password", meta: { k: "v" } }],
  [/^\/api\/ops\/auth$/, { metrics: { failedLogins: 50, windowMs: 60_000 }, context: { env: "test" } }],
  [/\/value$/, { value: true, reason: "fuzz" }],
  [/\/enabled$/, { enabled: false, reason: "fuzz" }],
  [/\/rollout$/, { rollout: { percentage: 30 }, reason: "fuzz" }],
  [/\/schedule$/, { at: "2030-01-01T00:00:00Z", patch: { value: true }, reason: "fuzz" }],
  [/\/overrides\//, { value: { a: 1 }, reason: "fuzz" }],
  [/\/evaluate$/, { context: { targetingKey: "u1", tenantId: "t1" } }],
  [/\/silences$/, { matcher: { types: ["FAILED_LOGIN_SPIKE"], tenantIds: ["t1"] }, endsAt: "2030-01-01T00:00:00Z", reason: "fuzz" }],
  [/\/apply-suggestion$/, { key: "checkout.new_flow", reason: "fuzz" }],
  [/./, { reason: "fuzz" }],
];
const baseFor = (path: string) => BASES.find(([re]) => re.test(path))![1];

const mutation = fc.tuple(fc.nat(), fc.boolean(), fc.option(fc.constantFrom(...FIELDS), { nil: undefined }), hostileValue);
function mutate(base: Record<string, unknown>, [pick, down, extra, value]: [number, boolean, string | undefined, unknown]) {
  const out: Record<string, unknown> = structuredClone(base);
  if (extra !== undefined) {
    out[extra] = value;
    return out;
  }
  const keys = Object.keys(out);
  const k = keys[pick % keys.length]!;
  const inner = out[k];
  if (down && typeof inner === "object" && inner !== null && !Array.isArray(inner)) {
    const ik = Object.keys(inner);
    if (ik.length > 0) {
      (inner as Record<string, unknown>)[ik[pick % ik.length]!] = value;
      return out;
    }
  }
  out[k] = value;
  return out;
}

const body = fc.oneof(
  { arbitrary: mutation.map((m) => ({ mutation: m })), weight: 4 },
  fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 6 }).map((o) => ({ json: o })),
  fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 3 }).map((o) => ({ json: { ...o, reason: "fuzz" } })),
  fc
    .record({ events: fc.array(fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 5 }), { maxLength: 5 }) })
    .map((o) => ({ json: o })),
  hostileValue.map((v) => ({ json: v })),
  fc
    .constantFrom(
      "{",
      "[1,2",
      '{"a":1}}',
      '{"__proto__":{"polluted":true},"reason":"x"}',
      '{"value":1e999999,"reason":"x"}',
      '{"reason":"\\ud800"}',
      '{"reason":"\\u0000"}',
      "\u0000",
      "null",
      '"str"',
      "12",
    )
    .map((raw) => ({ raw })),
  fc.integer({ min: 1_000, max: 200_000 }).map((d) => ({ raw: `${"[".repeat(d)}${"]".repeat(d)}` })),
  fc.integer({ min: 1_000, max: 200_000 }).map((d) => ({ raw: `{"value":${'{"a":'.repeat(d)}1${"}".repeat(d)},"reason":"x"}` })),
);

const pathParam = fc.oneof(
  fc.constantFrom(
    "checkout.new_flow",
    "t1",
    "tenant_b",
    "%00",
    "%ZZ",
    "%2e%2e%2f",
    "..",
    "%ud800",
    "%ED%A0%80",
    "%FF%FE",
    "a%00b",
    pct("😀"),
    "x".repeat(5_000),
  ),
  fc.string({ unit: "binary", maxLength: 30 }).map((s) => pct(s) || "x"),
);
const query = fc.dictionary(fc.constantFrom(...QUERY), fc.oneof(hostileString, fc.integer().map(String)).map(pct), { maxKeys: 4 });
const principal = fc.oneof(
  fc.constant({ role: "admin" as const }),
  fc.constant({ role: "operator" as const, tenant: "t1" }),
  fc.constant({ role: "viewer" as const, tenant: "tenant_b" }),
);

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates as U+FFFD; encodeURIComponent throws). */
function pct(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8"))
    out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`;
  return out;
}

function fill(path: string, params: string[]): string {
  let i = 0;
  return path.replace(/:[a-zA-Z]+/g, () => params[i++ % params.length] ?? "x");
}

async function checkRoute(t: TestService, route: Route, runs: number): Promise<void> {
  const failures: string[] = [];
  await fc
    .assert(
      fc.asyncProperty(fc.array(pathParam, { minLength: 1, maxLength: 3 }), query, body, principal, async (params, q, b, who) => {
        const qs = Object.entries(q)
          .map(([k, v]) => `${k}=${v}`)
          .join("&");
        const path = fill(route.path, params) + (qs ? `?${qs}` : "");
        const hasBody = route.method !== "GET" && route.method !== "DELETE";
        let reply: Awaited<ReturnType<TestService["call"]>>;
        try {
          reply = await t.call(route.method, path, {
            ...who,
            ...(hasBody
              ? "raw" in b
                ? { raw: b.raw }
                : { raw: serialize("mutation" in b ? mutate(baseFor(route.path), b.mutation) : b.json) }
              : {}),
            headers: { origin: t.base },
            timeoutMs: 15_000,
          });
        } catch (err) {
          failures.push(`${route.method} ${path.slice(0, 120)}: no answer (${(err as Error).message})`);
          return false;
        }
        if (reply.status >= 500 || reply.status < 200) {
          failures.push(`${route.method} ${path.slice(0, 120)} -> ${reply.status} ${reply.text.slice(0, 200)}`);
          return false;
        }
        // No internals in any answer: adapter names, SQLSTATEs, stack frames.
        if (/\[ops\/adapter-|SQLSTATE|\(\d{5}\b|\bat .+\.(ts|js):\d+/.test(reply.text)) {
          failures.push(`${route.method} ${path.slice(0, 120)} leaks internals: ${reply.text.slice(0, 200)}`);
          return false;
        }
        if (reply.status === 400) {
          const issues = reply.json?.issues;
          if (reply.json?.error === undefined) {
            failures.push(`${route.method} ${path.slice(0, 120)} -> 400 without an error code: ${reply.text.slice(0, 200)}`);
            return false;
          }
          if (issues !== undefined && !(Array.isArray(issues) && issues.every((i: { path?: unknown }) => typeof i.path === "string"))) {
            failures.push(`${route.method} ${path.slice(0, 120)} -> 400 with issues lacking a field path: ${reply.text.slice(0, 200)}`);
            return false;
          }
        }
        return true;
      }),
      { numRuns: runs, seed: SEED, endOnFailure: true },
    )
    .catch((err: Error) => {
      throw new Error(`${failures.join("\n") || err.message}\n(seed ${SEED}; rerun with OPS_FUZZ_SEED=${SEED})`);
    });
  const live = await t.call("GET", "/livez", { anonymous: true, timeoutMs: 5_000 });
  expect(live.status).toBe(200);
}

/** JSON text of `v`, with every Deep value spliced in as its text. */
function serialize(v: unknown): string {
  const deeps: Deep[] = [];
  const text =
    JSON.stringify(v, (_k, x: unknown) => {
      if (x instanceof Deep) {
        deeps.push(x);
        return `\u0001deep${deeps.length - 1}\u0001`;
      }
      return x;
    }) ?? "null";
  return text.replace(/"\\u0001deep(\d+)\\u0001"/g, (_m, i: string) => deeps[Number(i)]!.text());
}

const backends: Array<[string, boolean]> = [["PGlite", false]];
if (pgUp) backends.push(["PostgreSQL", true]);

describe.each(backends)("hostile input on every route (%s)", (name, onPg) => {
  let t: TestService;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let routes: Route[] = [];
  beforeAll(async () => {
    // A database of its own (owned by the test role), as a user's service would have.
    if (onPg) db = await freshDatabase();
    t = await startTestService(db ? { DATABASE_URL: db.url } : {});
    routes = [...APP_ROUTES, ...t.service.console.routes.map((r) => ({ method: r.method, path: `/ops${r.path}` }))];
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("covers the console's routes too", () => {
    expect(routes.length).toBeGreaterThan(30);
  });

  it("never answers 5xx, never hangs, names the field; /livez stays healthy", { timeout: 1_800_000 }, async () => {
    for (const route of routes) await checkRoute(t, route, runsFor(name));
  });
});
