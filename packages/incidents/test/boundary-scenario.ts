import { expect } from "vitest";
import { ValidationError, type AuditSinkEntry, type EffectStore, type IncidentStore } from "@ops/core";
import { IncidentManager, Mitigator, runAuthOpsSpine, type SpineEvent } from "../src/index.js";

// Every caller field of the IncidentManager / Mitigator writes, refused at the boundary with the
// caller's own name (never `effects[0].payload...` or a record field), and nothing changed: the
// incident stays at its version, no effect is queued, no audit entry is written. A clean write
// sent right behind is stored and audited. Shared by the memory, PostgreSQL and Redis tests.

async function refused(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

export async function incidentBoundaryScenario(stores: { incidents: IncidentStore; effects?: EffectStore }): Promise<void> {
  const entries: AuditSinkEntry[] = [];
  const audit = { record: async (e: AuditSinkEntry) => void entries.push(structuredClone(e)) };
  const manager = new IncidentManager({ store: stores.incidents, audit, ...(stores.effects ? { effects: stores.effects } : {}) });
  const tenantId = `t-${Math.random().toString(36).slice(2, 10)}`;
  const event: SpineEvent = {
    event_id: `ev-${tenantId}`,
    incident_type: "FAILED_LOGINS_SPIKE",
    severity_guess: 2,
    occurred_at: new Date().toISOString(),
    metrics_snapshot: { failed_logins_5m: 500 },
    tenant_id: tenantId,
  };
  const response = runAuthOpsSpine(event as SpineEvent<"FAILED_LOGINS_SPIKE">);
  const { incident } = await manager.raise(event, response);
  const pending = async () => (stores.effects ? stores.effects.pending() : 0);
  const before = { version: incident.version, entries: entries.length, pending: await pending() };
  const at = { tenantId, id: incident.id };
  const NUL = "a\u0000b";
  const LONE = "a\ud800b";

  const cases: Array<[string, () => Promise<unknown>]> = [
    ["reason", () => manager.acknowledge({ ...at, actor: "alice", reason: NUL })],
    ["reason", () => manager.acknowledge({ ...at, actor: "alice", reason: "r".repeat(2000) })],
    ["actor", () => manager.acknowledge({ ...at, actor: LONE })],
    ["actor", () => manager.resolve({ ...at, actor: "" })],
    ["actor", () => manager.transition({ ...at, to: "mitigated", actor: "x".repeat(300) })],
    ["id", () => manager.acknowledge({ tenantId, id: NUL, actor: "alice" })],
    ["tenantId", () => manager.acknowledge({ tenantId: "acme\u0000", id: incident.id, actor: "alice" })],
    ["to", () => manager.transition({ ...at, to: "closed" as "resolved", actor: "alice" })],
    ["title", () => manager.raise({ ...event, event_id: `${event.event_id}-2` }, response, { title: NUL })],
    ["title", () => manager.raise({ ...event, event_id: `${event.event_id}-3` }, response, { title: "t".repeat(300) })],
    ["event.event_id", () => manager.raise({ ...event, event_id: LONE }, response)],
    [
      "event.metrics_snapshot.k",
      () => manager.raise({ ...event, event_id: `${event.event_id}-4`, metrics_snapshot: { k: NUL } }, response),
    ],
    ["response.decision", () => manager.raise({ ...event, event_id: `${event.event_id}-5` }, { ...response, decision: "d".repeat(2000) })],
    ["meta.k", () => manager.record("INCIDENT_NOTE", incident, "alice", undefined, { k: LONE })],
    ["reason", () => manager.record("INCIDENT_NOTE", incident, "alice", NUL, {})],
    ["actor", () => new Mitigator(manager, { mode: "suggest" }, undefined, "test").rollback({ ...at, actor: NUL })],
    ["id", () => new Mitigator(manager, { mode: "suggest" }, undefined, "test").rollback({ tenantId, id: LONE })],
  ];
  for (const [field, write] of cases) {
    const err = await refused(write());
    expect(err.issues[0]?.path, `${field}: ${err.message}`).toBe(field);
    expect(err.message).not.toMatch(/effects\[|record\./);
  }
  const after = await stores.incidents.get(at);
  expect(after?.version, "the incident is unchanged").toBe(before.version);
  expect(after?.state).toBe("open");
  expect(entries.length, "no audit entry").toBe(before.entries);
  expect(await pending(), "no effect queued").toBe(before.pending);
  expect(await stores.incidents.findActive({ tenantId, fingerprint: incident.fingerprint })).toMatchObject({ id: incident.id });

  // A clean write right behind: stored and audited, text byte-identical.
  const acked = await manager.acknowledge({ ...at, actor: "alice 😀", reason: "שלום \u202e" });
  expect(acked.state).toBe("acknowledged");
  expect(entries.at(-1)).toMatchObject({ action: "INCIDENT_ACKNOWLEDGED", actor: { id: "alice 😀" }, reason: "שלום \u202e" });
}
