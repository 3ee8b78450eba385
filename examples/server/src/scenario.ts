import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { verifyExport } from "@ops/audit";
import { loadServiceConfig } from "./config.js";
import { jsonLogger } from "./logger.js";
import { createService } from "./service.js";

export interface ScenarioOptions {
  /** Where the narration goes (default: stdout). */
  print?: (line: string) => void;
  /** Extra environment for the service (default: the scenario's own PGlite temp dir, log channel). */
  env?: Record<string, string | undefined>;
  /** Give up waiting for the runtime after this long (default 20 s). */
  waitMs?: number;
}

export interface ScenarioStep {
  title: string;
  ok: boolean;
  error?: string;
}

export interface ScenarioResult {
  ok: boolean;
  steps: ScenarioStep[];
  incidentId: string | null;
  durationMs: number;
}

const ATTACKER_IP = "203.0.113.7";
const ACTOR = "oncall_alice";
// The API's answers are read loosely here and checked field by field by each step.
type Json = any;
const TOTAL_STEPS = 10;

class Check extends Error {}
function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Check(what);
}

/**
 * The README's first command: starts the service in process on an ephemeral 127.0.0.1 port with
 * PGlite in a fresh temp dir, drives a failed-login spike through the HTTP API and narrates every
 * step: incident, response plan, flags flipped, notification, audit chain, rollback. Every step
 * checks what it shows; `ok` is true only if all of them held.
 */
export async function runScenario(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const waitMs = options.waitMs ?? 20_000;
  const started = performance.now();
  const steps: ScenarioStep[] = [];
  const notifications: string[] = [];
  const problems: string[] = [];
  const dataDir = await mkdtemp(join(tmpdir(), "ops-demo-"));
  const config = loadServiceConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    OPS_ENV: "demo",
    OPS_DATA_DIR: dataDir,
    OPS_MITIGATION: "apply",
    OPS_TICK_MS: "200",
    OPS_BUCKET_MS: "1000",
    // Alertmanager's group_wait, short: the notification goes out once the incident's window counts are in.
    OPS_GROUP_WAIT_MS: "2000",
    OPS_NOTIFY_POLL_MS: "100",
    APP_NAME: "ops-demo",
    OPSSPINE_NOTIFY_MODE: "log",
    ...options.env,
  });
  const logger = jsonLogger((line, level) => {
    if (level === "info" && line.includes('"admin_notification"')) notifications.push(line);
    else if (level !== "info") problems.push(line);
  });
  print("@ops demo: a failed-login spike, end to end, through the HTTP API");
  print("starting the service (PGlite creates a fresh database in WASM: a few seconds)...");
  const t0 = performance.now();
  const service = await createService(config, { logger });
  const base = await service.listen();
  print(
    `service  ${base} (up in ${((performance.now() - t0) / 1000).toFixed(1)} s)   storage: ${service.storage.describe} in ${dataDir}   notifications: ${service.channels.join(", ")}`,
  );

  // Two principals, as a trusted gateway would set them: the app itself (sending signals) and
  // the on-call operator working through the console's API (every change with a reason).
  const APP = { "x-ops-actor": "example-app", "x-ops-roles": "", "x-ops-scope": "global" };
  const OPERATOR = { "x-ops-actor": ACTOR, "x-ops-roles": "admin", "x-ops-scope": "global" };
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json; text: string }> => {
    const who = path.startsWith("/api/") ? APP : OPERATOR;
    const res = await fetch(base + path, {
      method,
      headers: { ...who, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // exports are not one JSON document
    }
    return { status: res.status, json, text };
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | null | undefined>): Promise<T> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Check(`timed out after ${waitMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const step = async (title: string, fn: () => Promise<void>): Promise<boolean> => {
    print("");
    print(`== ${steps.length + 1}. ${title}`);
    const t0 = performance.now();
    try {
      await fn();
      steps.push({ title, ok: true });
      print(`   ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      return true;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      steps.push({ title, ok: false, error: msg });
      print(`   FAILED: ${msg}`);
      return false;
    }
  };

  let incidentId: string | null = null;
  let shownSeq = 0;
  let incident: Json = null;
  const recommended: string[] = [];
  try {
    await step("The service is ready", async () => {
      const r = await call("GET", "/readyz");
      print(`   GET /readyz -> ${r.status} ${r.text}`);
      expect(r.status === 200 && r.json?.status === "pass", "readiness should pass");
    });

    await step("An operator sets a flag the playbook will touch (so the rollback has a value to restore)", async () => {
      const r = await call("PUT", "/ops/api/v1/flags/auth.login.rate_limit_strict/value", {
        value: false,
        reason: "strict limits off by default",
      });
      expect(r.status === 200, `PUT /ops/api/v1/flags/... answered ${r.status}: ${r.text}`);
      print(
        `   PUT /ops/api/v1/flags/auth.login.rate_limit_strict/value {value:false, reason} as ${ACTOR} (admin) -> ${r.status}, version ${r.json.version}`,
      );
    });

    await step("A failed-login spike arrives through the signal API", async () => {
      // 12 failures for one account from one IP cross the 10-per-user+IP threshold (Auth0's);
      // the rest is background noise from other accounts.
      const events = [
        ...Array.from({ length: 12 }, () => ({ type: "LOGIN_FAILED", userId: "alice", ip: ATTACKER_IP })),
        ...Array.from({ length: 8 }, (_, i) => ({ type: "LOGIN_FAILED", userId: `user_${i}`, ip: ATTACKER_IP })),
        ...Array.from({ length: 5 }, (_, i) => ({ type: "LOGIN_SUCCEEDED", userId: `user_${i + 10}`, ip: `198.51.100.${i + 1}` })),
      ];
      const r = await call("POST", "/api/signals", { events });
      expect(r.status === 202 && r.json.accepted === events.length, `POST /api/signals answered ${r.status}: ${r.text}`);
      print(
        `   POST /api/signals {events: 20 x LOGIN_FAILED (12 for alice from ${ATTACKER_IP}), 5 x LOGIN_SUCCEEDED} -> 202 accepted ${r.json.accepted}`,
      );
    });

    const raised = await step("The ops runtime (ticking every 200 ms here) raises an incident", async () => {
      const found = await waitFor("the FAILED_LOGINS_SPIKE incident", async () => {
        const r = await call("GET", "/ops/api/v1/incidents?type=FAILED_LOGINS_SPIKE");
        return (r.json?.items as Json[] | undefined)?.find((i) => i.mitigation?.status === "applied");
      });
      incidentId = found.id as string;
      // An identity crossing raises the incident within the current bucket; the hourly counts in
      // its snapshot come from complete buckets, so wait for the next window to refresh them.
      await waitFor("the incident's next window", async () => {
        const r = await call("GET", `/ops/api/v1/incidents/${found.id}`);
        return (r.json?.event?.metrics_snapshot?.failed_logins_1h ?? 0) > 0;
      });
      print(`   GET /ops/api/v1/incidents -> ${found.id}`);
      print(`   [${found.severity}] ${found.title}   state: ${found.state}   tenant: ${found.tenantId ?? "global"}`);
    });

    if (raised && incidentId) {
      await step("Its response plan", async () => {
        const r = await call("GET", `/ops/api/v1/incidents/${incidentId}`);
        expect(r.status === 200, `GET /ops/api/v1/incidents/:id answered ${r.status}`);
        incident = r.json;
        const plan = incident.plan;
        const snap = incident.event.metrics_snapshot;
        print(
          `   detected: ${JSON.stringify({ failed_logins_1h: snap.failed_logins_1h, identity_threshold_crossings: snap.identity_threshold_crossings, identities: snap.identities })}`,
        );
        print(`   decision: ${plan.decision}`);
        print("   steps:");
        (plan.steps as string[]).forEach((s, i) => print(`     ${i + 1}. ${s}`));
        print("   recommended flags:");
        for (const f of plan.recommended_flags as Json[]) {
          recommended.push(f.key);
          print(`     - ${f.key} = ${JSON.stringify(f.value)}  (${f.reason})`);
        }
        print("   rollback plan:");
        for (const s of plan.rollback_plan as string[]) print(`     - ${s}`);
        expect(
          plan.decision && plan.steps.length > 0 && recommended.length > 0 && plan.rollback_plan.length > 0,
          "the plan should have a decision, steps, flags and a rollback plan",
        );
      });

      await step('Mitigation "apply" flipped the recommended flags', async () => {
        const m = incident.mitigation;
        expect(m?.status === "applied", `mitigation should be applied, is ${m?.status}`);
        const r = await call("GET", "/ops/api/v1/flags?limit=100");
        const byKey = new Map((r.json.items as Json[]).map((f) => [f.key, f]));
        for (const a of m.applied as Json[]) {
          const f = byKey.get(a.key);
          print(
            `   ${a.key}: ${a.hadPrevious ? JSON.stringify(a.previous) : "(unset)"} -> ${JSON.stringify(f?.value)}   by ${f?.updatedBy}, now serving ${JSON.stringify(f?.effective.value)}`,
          );
          expect(f?.effective.value === true, `${a.key} should now be true`);
        }
        expect((m.applied as Json[]).length === recommended.length, "every recommended flag should be applied");
        print(`   incident state: ${incident.state} (${(incident.timeline as Json[]).map((h) => h.to).join(" -> ")})`);
      });

      await step("A notification went out through the log channel", async () => {
        const msg = await waitFor("a delivered notification", async () => {
          const r = await call("GET", "/ops/api/v1/outbox?status=delivered");
          return (r.json?.items as Json[] | undefined)?.[0];
        });
        print(
          `   GET /ops/api/v1/outbox?status=delivered -> channel ${msg.channel}, attempts ${msg.attempts}, delivered ${msg.deliveredAt}`,
        );
        const line = await waitFor("the log channel's line", async () => notifications[0]);
        const n = JSON.parse(line) as Json;
        print(
          `   log line: {"msg":"${n.msg}","app":"${n.app}","severity":"${n.severity}","subject":${JSON.stringify(n.subject)},"dedupeKey":"${n.dedupeKey}", ...}`,
        );
        for (const l of String(n.body).split("\n").slice(0, 3)) print(`     | ${l}`);
        expect(n.severity === incident.severity && String(n.body).includes(incidentId!), "the notification should name the incident");
      });

      await step("The audit trail holds every change, and its hash chain verifies", async () => {
        const r = await call("GET", "/ops/api/v1/audit?order=asc&limit=100");
        const entries = (r.json.items as Json[]).filter((e) => e.action !== "ADMIN_ACTION" || e.meta?.operation !== "runtime.tick");
        shownSeq = entries.length;
        for (const e of entries)
          print(
            `   #${e.seq} ${e.action.padEnd(21)} ${String(e.actor.id).padEnd(12)} ${e.target?.id ?? ""}${e.meta?.operation ? ` (${e.meta.operation})` : ""}  ${e.hash.slice(0, 12)}…`,
          );
        const actions = entries.map((e) => e.action);
        expect(
          actions.includes("INCIDENT_OPENED") && actions.includes("INCIDENT_MITIGATED"),
          "the incident's transitions should be audited",
        );
        expect(
          entries.filter((e) => e.action === "FLAG_CHANGE" && e.actor.id === "ops-spine").length === recommended.length,
          "every flag flip should be audited",
        );
        const v = await call("GET", "/ops/api/v1/audit/verify");
        print(
          `   GET /ops/api/v1/audit/verify -> ok=${v.json.ok}, ${v.json.checked} entries, head ${String(v.json.lastHash).slice(0, 16)}…`,
        );
        expect(v.json.ok === true, `the chain should verify: ${JSON.stringify(v.json.problem)}`);
      });

      await step("The attack stops; rollback restores exactly the flags the mitigation replaced", async () => {
        // Resolving while the detection window still holds the spike would raise it again as a
        // new incident (new window, new id): wait until a tick no longer sees it firing.
        await waitFor("the spike to leave the detection window", async () => {
          const t = await call("POST", "/ops/api/v1/runtime/tick", { reason: "demo: check whether the spike is over" });
          return !(t.json?.firing as Json[] | undefined)?.some((f) => f.incidentType === "FAILED_LOGINS_SPIKE");
        });
        print("   POST /ops/api/v1/runtime/tick -> FAILED_LOGINS_SPIKE no longer firing");
        const r = await call("POST", `/ops/api/v1/incidents/${incidentId}/rollback`, { reason: "attack over: lift the extra friction" });
        expect(r.status === 200, `POST /rollback answered ${r.status}: ${r.text}`);
        const flags = await call("GET", "/ops/api/v1/flags?limit=100");
        const byKey = new Map((flags.json.items as Json[]).map((f) => [f.key, f]));
        for (const a of r.json.restored as Json[]) {
          const f = byKey.get(a.key);
          print(
            `   ${a.key}: ${JSON.stringify(a.appliedValue)} -> ${a.cleared ? "(unset again)" : JSON.stringify(a.restoredTo)}   now serving ${JSON.stringify(f?.effective.value ?? null)} (${f?.effective.reason ?? "FLAG_NOT_FOUND"})`,
          );
          if (a.cleared) expect(!f, `${a.key} should be unset again`);
          else expect(f?.value === a.restoredTo, `${a.key} should be back to ${JSON.stringify(a.restoredTo)}`);
        }
        expect(byKey.get("auth.login.rate_limit_strict")?.value === false, "the operator's false should be back");
        const resolved = await call("POST", `/ops/api/v1/incidents/${incidentId}/resolve`, { reason: "attack over, friction lifted" });
        expect(resolved.status === 200 && resolved.json.state === "resolved", `resolve answered ${resolved.status}: ${resolved.text}`);
        print(`   POST /ops/api/v1/incidents/${incidentId}/resolve -> ${resolved.json.state}`);
      });

      await step("The trail still verifies, also as an exported file checked offline", async () => {
        const r = await call("GET", `/ops/api/v1/audit?order=asc&limit=100`);
        const entries = (r.json.items as Json[]).filter((e) => e.action !== "ADMIN_ACTION" || e.meta?.operation !== "runtime.tick");
        for (const e of entries.slice(shownSeq))
          print(
            `   #${e.seq} ${e.action.padEnd(21)} ${String(e.actor.id).padEnd(12)} ${e.target?.id ?? ""}${e.reason ? `  "${String(e.reason).slice(0, 60)}"` : ""}`,
          );
        const v = await call("GET", "/ops/api/v1/audit/verify");
        expect(v.json.ok === true, "the chain should verify after the rollback");
        const exported = await call(
          "GET",
          `/ops/api/v1/audit/export?format=jsonl&reason=${encodeURIComponent("demo: evidence for the incident review")}`,
        );
        const offline = await verifyExport(Readable.from([exported.text]));
        print(`   GET /ops/api/v1/audit/verify -> ok=${v.json.ok}, ${v.json.checked} entries`);
        print(
          `   GET /ops/api/v1/audit/export?format=jsonl -> ${exported.text.trim().split("\n").length} lines; verifyExport -> ok=${offline.ok}, ${offline.checked} entries`,
        );
        expect(offline.ok, `the export should verify offline: ${JSON.stringify(offline.problem)}`);
      });
    }
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok) && steps.length === TOTAL_STEPS;
  const durationMs = Math.round(performance.now() - started);
  print("");
  for (const p of problems.slice(0, 5)) print(`   service reported: ${p}`);
  print(
    ok
      ? `all ${steps.length} steps checked out in ${(durationMs / 1000).toFixed(1)} s`
      : `${steps.filter((s) => !s.ok).length || "some"} step(s) failed (${steps.length} run)`,
  );
  return { ok, steps, incidentId, durationMs };
}
