import { describe, expect, it } from "vitest";
import { makeAuditEntry } from "@ops/audit";

// The zod-free fast path must agree with the schema on every input: same entry, or both reject.
const variants: Record<string, unknown[]> = {
  tsISO: [undefined, "2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05+02:00", "2026-13-01T00:00:00Z", "yesterday", 5, null],
  env: [undefined, "prod", "Prod", "", "a".repeat(33), "staging-2", 7],
  action: ["AUTH_LOGIN", "INVOICE_PAID", "lower", "", "A".repeat(65), 3, undefined],
  actorUserId: [undefined, "u1", "", "x".repeat(257), null],
  actor: [
    undefined,
    { id: "svc", type: "service" },
    { id: "u", ip: "1.2.3.4", extra: 1 },
    { id: "" },
    { id: "u", type: "robot" },
    { id: "u", ip: "x".repeat(65) },
    "u1",
    null,
    [],
  ],
  subjectUserId: [undefined, "s1", ""],
  subject: [undefined, { id: "p", type: "patient" }, { id: "p", type: "" }, { id: 4 }],
  target: [undefined, { id: "d", type: "doc", name: "" }, { id: "d", name: "n".repeat(257) }, null],
  tenantId: [undefined, null, "acme", "has space", "", "t".repeat(129)],
  outcome: [undefined, "success", "failure", "unknown", "maybe", null],
  reason: [undefined, "", "r".repeat(1024), "r".repeat(1025)],
  surface: [undefined, "api", ""],
  requestId: [undefined, "req-1", "", "r".repeat(129)],
  correlationId: [undefined, "c", ""],
  meta: [
    undefined,
    { a: 1, b: [1, "x", null, { c: true }] },
    { n: Number.NaN },
    { d: new Date(0) },
    { u: undefined },
    [],
    { big: 10n },
    Object.create({ inherited: 1 }),
    null,
  ],
};

function run(input: unknown, slow: boolean): unknown {
  try {
    return { ok: makeAuditEntry(input as never, { now: new Date(0), defaultEnv: "test", slow }) };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

let seed = 42;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

describe("makeAuditEntry fast path", () => {
  it("agrees with the zod schema on 3,000 generated inputs", () => {
    const keys = Object.keys(variants);
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      const input: Record<string, unknown> = {};
      for (const key of keys) {
        const options = variants[key]!;
        // Mostly valid values, so both accepting and rejecting paths are exercised.
        const v = rand(12) === 0 ? options[rand(options.length)] : options[rand(2)];
        if (v !== undefined) input[key] = v;
      }
      if (!("actor" in input) && rand(2) === 0) input.actorUserId = "u1";
      const fast = run(input, false);
      const slow = run(input, true);
      expect(
        fast,
        JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
      ).toEqual(slow);
      if ((fast as { ok?: unknown }).ok) accepted++;
    }
    expect(accepted).toBeGreaterThan(300);
    expect(accepted).toBeLessThan(2700);
  });
});
