import { memoryStores } from "@ops/adapter-memory";
import { createAuditLog } from "@ops/audit";
import type { OpsStores } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { createHealth } from "@ops/health";
import { createOpsRuntime, deriveAuthIncidents } from "@ops/incidents";
import { createNotifier } from "@ops/notify";
import { createConsole, type ConsoleOptions, type OpsConsole, type Principal } from "../src/index.js";

export const T1 = "t1";
export const T2 = "t2";
export const FLAG = "checkout.new_flow";
export const ORIGIN = "http://console.test";

/** Wraps every store so calls can be counted (a request without a principal must make none). */
function counted<T extends object>(store: T, calls: { n: number }): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "capabilities") return v;
      return (...args: unknown[]) => {
        calls.n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * A complete in-memory stack with one of everything the API acts on: a flag with a tenant
 * override and a scheduled change, incidents (tenant t1: suggested and applied; global), silences
 * (t1, global), dead notifications (t1, global), pending notifications (t1, global).
 */
export async function fixture(options: Partial<ConsoleOptions> = {}) {
  const raw = memoryStores();
  const calls = { n: 0 };
  const stores = Object.fromEntries(
    Object.entries(raw)
      .filter(([, v]) => typeof v === "object" && v !== null)
      .map(([k, v]) => [k, counted(v as object, calls)]),
  ) as unknown as Required<OpsStores>;
  const audit = createAuditLog({ store: stores.audit, env: "test" });
  const flags = new FeatureFlagController(stores.flags, "test", { audit });
  await flags.ready();
  await flags.setFlag({ key: FLAG, newValue: false, actorUserId: "seed", reason: "seed" });
  await flags.setFlag({ key: FLAG, newValue: true, tenantId: T1, actorUserId: "seed", reason: "seed" });
  const scheduleId = await flags.scheduleChange({
    key: FLAG,
    at: new Date(Date.now() + 86_400_000).toISOString(),
    patch: { value: true },
    actorUserId: "seed",
    reason: "seed",
  });
  const notifier = createNotifier({ store: stores.outbox, channels: [{ name: "log" }], audit });
  const runtime = createOpsRuntime({
    stores: { incidents: stores.incidents, counters: stores.counters, authEvents: stores.authEvents },
    flags,
    audit,
    mitigation: { mode: "suggest" },
  });

  const now = Date.now();
  const [spike] = deriveAuthIncidents({ failed_logins_1h: 500, login_attempts_1h: 600 }, { tenantId: T1, now });
  const incT = (await runtime.handle(spike!)).incident;
  const [reset] = deriveAuthIncidents({ password_reset_failures_1h: 500, password_reset_requests_1h: 600 }, { tenantId: T1, now });
  const applied = (await runtime.handle(reset!)).incident;
  await runtime.applyMitigation({ tenantId: T1, id: applied.id, actor: "seed" });
  const [leak] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 50 }, { tenantId: null, now });
  const incG = (await runtime.handle(leak!)).incident;
  const [leakT] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 50 }, { tenantId: T1, now });
  const incLeakT = (await runtime.handle(leakT!)).incident;

  const endsAt = new Date(now + 3_600_000).toISOString();
  const silT = await runtime.silences.add({ matcher: { tenantIds: [T1] }, endsAt, createdBy: "seed", comment: "seed" });
  const silG = await runtime.silences.add({ matcher: { types: ["TENANT_LEAK_RISK"] }, endsAt, createdBy: "seed", comment: "seed" });

  const dead = async (tenantId: string | null) => {
    const at = new Date().toISOString();
    const m = await stores.outbox.enqueue({
      message: {
        id: `msg_${Math.random().toString(36).slice(2)}`,
        tenantId,
        channel: "log",
        payload: { title: "x" },
        idempotencyKey: `k-${Math.random()}`,
        createdAt: at,
      },
    });
    const [c] = await stores.outbox.claim({ workerId: "w", limit: 1, leaseMs: 10_000, now: new Date(Date.now() + 1).toISOString() });
    await stores.outbox.fail({ id: c!.id, workerId: "w", error: "410 gone", now: new Date().toISOString(), final: "dead" });
    return m;
  };
  const deadT = await dead(T1);
  const deadG = await dead(null);
  // Pending notifications, due in an hour (no claim above or worker picks them up meanwhile).
  const pending = (tenantId: string | null) =>
    stores.outbox.enqueue({
      message: {
        id: `msg_${Math.random().toString(36).slice(2)}`,
        tenantId,
        channel: "log",
        payload: { title: "later" },
        idempotencyKey: `k-${Math.random()}`,
        createdAt: new Date().toISOString(),
        nextAttemptAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
  const pendT = await pending(T1);
  const pendG = await pending(null);
  const health = createHealth({ checks: [] });

  const principals = new Map<string, Principal>();
  const c: OpsConsole = createConsole({
    authorize: (req) => principals.get(req.headers.get("x-test-principal") ?? "") ?? null,
    basePath: "/ops",
    flags: { controller: flags, store: stores.flags },
    incidents: { runtime, store: stores.incidents },
    audit,
    notifier,
    health,
    logger: { warn: () => {}, error: () => {} },
    ...options,
  });
  for (const scope of ["tenant", "global"] as const)
    for (const role of ["viewer", "operator", "admin"])
      principals.set(`${scope}:${role}`, {
        actorId: `${scope}-${role}@example.test`,
        roles: [role],
        tenantId: scope === "tenant" ? T1 : null,
      });

  async function call(principal: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await c.fetch(
      new Request(`${ORIGIN}${path}`, {
        method,
        headers: {
          ...(principal ? { "x-test-principal": principal } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    );
    return res;
  }

  return {
    console: c,
    call,
    principals,
    calls,
    stores,
    raw,
    audit,
    flags,
    runtime,
    notifier,
    ids: {
      scheduleId,
      incT: incT.id,
      applied: applied.id,
      incG: incG.id,
      incLeakT: incLeakT.id,
      silT: silT.id,
      silG: silG.id,
      deadT: deadT.id,
      deadG: deadG.id,
      pendT: pendT.id,
      pendG: pendG.id,
    },
    async close() {
      await runtime.stop();
      await flags.close();
      await audit.close();
      health.close();
    },
  };
}
