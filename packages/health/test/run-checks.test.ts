import { ValidationError } from "@ops/core";
import { describe, expect, it } from "vitest";
import { CheckTimeoutError, runHealthChecks, type CheckContext, type HealthCheck } from "@ops/health";
import { deferred } from "./helpers.js";

describe("runHealthChecks (the seed's API)", () => {
  it("runs the seed example as written", async () => {
    const checkDB = async () => true;
    const checkRedis = async () => true;
    const checkStripe = async () => true;
    const checkS3 = async () => false;
    const checks = [
      async () => ({ name: "database", ok: await checkDB() }),
      async () => ({ name: "redis", ok: await checkRedis() }),
      async () => ({ name: "stripe", ok: await checkStripe() }),
      async () => ({ name: "s3", ok: await checkS3() }),
    ];

    const status = await runHealthChecks("prod", checks);

    expect(status.ok).toBe(false);
    expect(status.status).toBe("fail");
    expect(status.env).toBe("prod");
    expect(new Date(status.tsISO).toISOString()).toBe(status.tsISO);
    expect(status.checks.map((c) => [c.name, c.ok])).toEqual([
      ["database", true],
      ["redis", true],
      ["stripe", true],
      ["s3", false],
    ]);
    for (const c of status.checks) expect(c.durationMs).toBeGreaterThanOrEqual(0);
    expect(status.checks[3]!.message).toBe("check reported not ok");
    // Every result carries a message.
    expect(status.checks[0]!.message).toBe("ok");
  });

  it("is ok when every check passes", async () => {
    const status = await runHealthChecks("dev", [async () => ({ name: "a", ok: true })]);
    expect(status).toMatchObject({ ok: true, status: "pass" });
  });

  it("fails a check that never resolves at its timeout, and aborts its signal", async () => {
    let seen: AbortSignal | undefined;
    const hanging = async ({ signal }: CheckContext) => {
      seen = signal;
      return new Promise<{ name: string; ok: boolean }>(() => undefined);
    };
    const status = await runHealthChecks("prod", [async () => ({ name: "fast", ok: true }), hanging], { timeoutMs: 50 });
    expect(status.ok).toBe(false);
    const hung = status.checks[1]!;
    expect(hung).toMatchObject({ ok: false, status: "fail", timedOut: true, message: "timed out after 50 ms" });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(CheckTimeoutError);
    expect(status.checks[0]).toMatchObject({ name: "fast", ok: true, timedOut: false });
  });

  it("names a seed check that hangs or throws from the name literal in its source", async () => {
    const status = await runHealthChecks(
      "prod",
      [
        async () => ({ name: "stripe", ok: await new Promise<boolean>(() => undefined) }),
        async () => ({ name: "s3", ok: await Promise.reject<boolean>(new Error("boom")) }),
      ],
      { timeoutMs: 30 },
    );
    expect(status.checks.map((c) => [c.name, c.message])).toEqual([
      ["stripe", "timed out after 30 ms"],
      ["s3", "boom"],
    ]);
  });

  it("uses a per-check timeout over the default one", async () => {
    const slow: HealthCheck = { name: "slow", timeoutMs: 20, run: () => new Promise(() => undefined) };
    const status = await runHealthChecks("prod", [slow], { timeoutMs: 60_000 });
    expect(status.checks[0]).toMatchObject({ name: "slow", timedOut: true, message: "timed out after 20 ms" });
  });

  it("runs checks in parallel, not one after another", async () => {
    // Each check waits until all three have started: run sequentially, they would all time out.
    const started = { n: 0 };
    const allStarted = deferred();
    const check = (name: string): HealthCheck => ({
      name,
      timeoutMs: 5_000,
      run: async () => {
        if (++started.n === 3) allStarted.resolve();
        await allStarted.promise;
        return { ok: true };
      },
    });
    const status = await runHealthChecks("prod", [check("a"), check("b"), check("c")]);
    expect(status.checks.map((c) => c.status)).toEqual(["pass", "pass", "pass"]);
  });

  it("gives pass / warn / fail from critical and non-critical checks", async () => {
    const up: HealthCheck = { name: "db", run: () => ({ ok: true }) };
    const downOptional: HealthCheck = { name: "cache", critical: false, run: () => ({ ok: false, message: "cache down" }) };
    const warns: HealthCheck = { name: "queue", run: () => ({ status: "warn", message: "lagging" }) };
    const downCritical: HealthCheck = { name: "db2", run: () => false };

    expect((await runHealthChecks("prod", [up])).status).toBe("pass");
    const degraded = await runHealthChecks("prod", [up, downOptional]);
    expect(degraded).toMatchObject({ ok: true, status: "warn" });
    expect(degraded.checks[1]).toMatchObject({ status: "fail", ok: false, critical: false, message: "cache down" });
    expect(await runHealthChecks("prod", [up, warns])).toMatchObject({ ok: true, status: "warn" });
    expect(await runHealthChecks("prod", [up, downOptional, downCritical])).toMatchObject({ ok: false, status: "fail" });
  });

  it("reports a thrown error (sync or async) as a failed check with its message", async () => {
    const status = await runHealthChecks("prod", [
      {
        name: "sync",
        run: () => {
          throw new Error("sync boom");
        },
      },
      {
        name: "async",
        run: async () => {
          throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
        },
      },
    ]);
    expect(status.checks.map((c) => c.message)).toEqual(["sync boom", "ECONNREFUSED: refused"]);
  });

  it("keeps observed values and details and treats void as pass", async () => {
    const status = await runHealthChecks("prod", [
      {
        name: "q",
        measurement: "depth",
        componentType: "component",
        run: () => ({ ok: true, observedValue: 3, observedUnit: "jobs", details: { x: 1 } }),
      },
      { name: "v", run: () => undefined },
    ]);
    expect(status.checks[0]).toMatchObject({
      key: "q:depth",
      observedValue: 3,
      observedUnit: "jobs",
      componentType: "component",
      details: { x: 1 },
    });
    expect(status.checks[1]).toMatchObject({ status: "pass", message: "ok" });
  });

  it("rejects bad input with a ValidationError naming the field, before running anything", async () => {
    let ran = false;
    const spy = async () => {
      ran = true;
      return { name: "x", ok: true };
    };
    await expect(runHealthChecks("Prod Env", [spy])).rejects.toThrow(/\[ops\/health\] invalid runHealthChecks env/);
    await expect(runHealthChecks("prod", "nope" as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(runHealthChecks("prod", [{ name: "", run: spy } as HealthCheck])).rejects.toThrow(/\[0\]/);
    await expect(runHealthChecks("prod", [spy], { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    expect(ran).toBe(false);
  });

  it("fails a seed check that returns neither ok nor status", async () => {
    const status = await runHealthChecks("prod", [async () => ({ name: "odd" }) as never]);
    expect(status.checks[0]).toMatchObject({ name: "odd", status: "fail" });
  });

  it("never trusts what a check returns: malformed outcomes are failures with a reason", async () => {
    const status = await runHealthChecks("prod", [
      { name: "str", run: () => "yes" as never },
      { name: "nul", run: () => null as never },
      { name: "badstatus", run: () => ({ status: "ok" }) as never },
      { name: "badok", run: () => ({ ok: "true" }) as never },
      { name: "numMessage", run: () => ({ ok: false, message: 42 }) as never },
    ]);
    expect(status.checks.map((c) => [c.name, c.status, c.message])).toEqual([
      ["str", "fail", "check returned string, expected an outcome object or a boolean"],
      ["nul", "fail", "check returned null, expected an outcome object or a boolean"],
      ["badstatus", "fail", "check returned an invalid status, expected pass, warn or fail"],
      ["badok", "fail", "check returned a non-boolean ok"],
      ["numMessage", "fail", "42"],
    ]);
  });
});
