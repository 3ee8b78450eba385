import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { ManualClock, mapLimit, type IncidentRecord, type JsonValue } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { createOpsRuntime, type IncidentData } from "@ops/incidents";
import { redisStores } from "../src/index.js";
import { FLAGS } from "./fixtures/mitigate-crash.flags.js";
import { requireService, testRedisUrl } from "@ops/testkit";

// The incident body as @ops/incidents writes it (the store keeps it as JSON).
const dataOf = (r: IncidentRecord): IncidentData => r.data as unknown as IncidentData;

// Crash safety of mitigation: a child process applying a mitigation is killed (SIGKILL) at each
// step in turn. Whatever step it died at, every flag that differs from its value before the
// incident has a journal record with that exact previous value (and a FLAG_CHANGE audit entry),
// and recovery by another instance followed by rollback restores every flag exactly.

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const url = testRedisUrl();
const KEYS = Object.keys(FLAGS);
const NOW = Date.parse("2026-11-26T10:00:00.000Z");
/** Values before the incident (undefined: unset for the tenant). */
const ORIGINAL: Record<string, JsonValue | undefined> = {
  "auth.login.rate_limit_strict": false,
  "auth.login.captcha_on_risk": undefined,
  "auth.mfa.step_up_on_risk": true,
};

const up = await requireService("redis");
const redis = up ? new Redis(url, { maxRetriesPerRequest: 2 }) : null;
const cleanup: string[] = [];
afterAll(async () => {
  if (!redis) return;
  for (const prefix of cleanup) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  }
  redis.disconnect();
});

function runChild(
  prefix: string,
  tenantId: string,
  killAt: number,
): Promise<{ lines: Array<Record<string, unknown>>; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [tsx, "--conditions=@ops/source", join(here, "fixtures", "mitigate-crash.ts"), url, prefix, tenantId, String(killAt), String(NOW)],
      { cwd: root, stdio: "pipe" },
    );
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      const lines = out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      if (code !== 0 && code !== 137 && signal !== "SIGKILL") reject(new Error(`child failed (${code}): ${err.slice(0, 2000)}`));
      else resolve({ lines, signal });
    });
  });
}

async function scenario(killAt: number) {
  const prefix = `ops-crash-${process.pid}-${killAt}-${Math.random().toString(36).slice(2, 8)}`;
  cleanup.push(prefix);
  const tenantId = `acme-${killAt}`;
  const stores = redisStores(redis!, { prefix });
  const audit = { record: async (e: unknown) => void (await redis!.rpush(`${prefix}:audit`, JSON.stringify(e))) };
  const flags = new FeatureFlagController(stores.flags, "prod", { definitions: FLAGS, audit });
  await flags.ready();
  for (const key of KEYS) {
    const v = ORIGINAL[key];
    if (v !== undefined) await flags.setFlag({ key, newValue: v, tenantId, actorUserId: "admin", reason: "before the incident" });
  }
  const child = await runChild(prefix, tenantId, killAt);
  const current = async () =>
    Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await flags.getValue({ key: k, tenantId })] as const)));
  // 1. Right after the crash: every changed flag has its journal record (exact previous) and its audit entry.
  const [incident] = (await stores.incidents.list({ tenantId })).items;
  const journal = incident ? (dataOf(incident).mitigation?.applied ?? []) : [];
  const audited = (await redis!.lrange(`${prefix}:audit`, 0, -1)).map(
    (l) => JSON.parse(l) as { action: string; actor: { id: string }; target?: { id: string } },
  );
  const now = await current();
  for (const key of KEYS) {
    if (JSON.stringify(now[key]) === JSON.stringify(ORIGINAL[key])) continue;
    const rec = journal.find((a) => a.key === key);
    expect(rec, `step ${killAt}: ${key} changed without a journal record`).toBeDefined();
    expect(rec!.hadPrevious ? rec!.previous : undefined).toEqual(ORIGINAL[key]);
    expect(
      audited.some((e) => e.action === "FLAG_CHANGE" && e.target?.id === key && e.actor.id === "ops-spine"),
      `step ${killAt}: ${key} changed without audit`,
    ).toBe(true);
  }
  // 2. Another instance takes the mitigation over after the lease, then an operator rolls it back.
  const clock = new ManualClock(NOW + 10 * 60_000);
  const rescuer = createOpsRuntime({
    stores: { incidents: stores.incidents, counters: stores.counters },
    clock,
    flags,
    audit,
    instanceId: "rescuer",
    mitigation: { mode: "apply" },
    mitigationLeaseMs: 60_000,
  });
  const report = await rescuer.tick();
  expect(report.errors).toEqual([]);
  if (incident) {
    const after = dataOf((await stores.incidents.get({ tenantId, id: incident.id }))!).mitigation;
    if (after && (after.status === "applied" || (after.status === "failed" && after.applied.length > 0))) {
      expect(after.applied.every((a) => !a.pending)).toBe(true);
      await rescuer.rollback({ tenantId, id: incident.id, actor: "oncall" });
    }
  }
  // 3. Every flag is back exactly (unset ones unset).
  expect(await current()).toEqual(ORIGINAL);
  await flags.close();
  await stores.close();
  return child.lines.some((l) => l.done === true);
}

describe.skipIf(!redis)("mitigation killed at every step (child processes, shared Redis)", () => {
  it("leaves no flag changed without its journal record and audit entry; rollback restores every flag exactly", async () => {
    // Run 0 never dies: it tells how many steps a mitigation has.
    const prefix = `ops-crash-${process.pid}-count`;
    cleanup.push(prefix);
    const full = await runChild(prefix, "count", 0);
    const steps = Number(full.lines.find((l) => l.done)?.steps);
    expect(steps).toBeGreaterThan(6);
    const survived = await mapLimit(
      Array.from({ length: steps }, (_, i) => i + 1),
      3,
      (k) => scenario(k),
    );
    expect(survived.filter(Boolean)).toEqual([]); // it died at every step it was asked to
  }, 600_000);
});
