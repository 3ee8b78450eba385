import {
  notifyEffect,
  severityRank,
  stableId,
  type AdminNotification,
  type IncidentRecord,
  type JsonValue,
  type Notifier,
  type PendingEffect,
} from "@ops/core";
import { dataOf, type IncidentData } from "./incident-data.js";
import type { IncidentManager } from "./lifecycle.js";
import { activeSilence, inhibitor, type InhibitionRule, type Silence } from "./noise.js";

/** Alertmanager's timers, same defaults. */
export interface NotificationTimers {
  /** Wait before the first notification of a new group, to batch what arrives together (30 s). */
  groupWaitMs: number;
  /** Wait before notifying new incidents added to an already notified group (5 min). */
  groupIntervalMs: number;
  /** Re-notify a group still active after this long (4 h). */
  repeatIntervalMs: number;
}

export const DEFAULT_TIMERS: NotificationTimers = Object.freeze({
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
  repeatIntervalMs: 4 * 3_600_000,
});

export interface NotifyPassReport {
  sent: number;
  silenced: number;
  inhibited: number;
}

/** A group's notification dedupe key (PagerDuty dedup_key): stable for the group's life. */
export const groupDedupeKey = (groupKey: string) => `grp_${stableId("group", groupKey)}`;

function summarize(
  items: IncidentRecord[],
  groupKey: string,
  nowIso: string,
  action: "trigger" | "acknowledge" | "resolve",
): AdminNotification {
  const worst = items.reduce((a, b) => (severityRank(b.severity) < severityRank(a.severity) ? b : a));
  const first = dataOf(worst);
  const lines: string[] = [];
  for (const i of items) {
    const d = dataOf(i);
    lines.push(`[${i.severity}] ${i.title} (${i.id}, ${i.tenantId ?? "global"}): ${d.response.decision}`);
    for (const s of d.response.steps.slice(0, 3)) lines.push(`  - ${s}`);
    const m = d.mitigation;
    if (m && m.flags.length > 0) lines.push(`  flags ${m.status}: ${m.flags.map((f) => `${f.key}=${JSON.stringify(f.value)}`).join(", ")}`);
  }
  const tenants = new Set(items.map((i) => i.tenantId));
  const n: AdminNotification = {
    id: `ntf_${stableId(groupKey, action, nowIso)}`,
    subject: `${action === "resolve" ? "Resolved: " : action === "acknowledge" ? "Acknowledged: " : `[${worst.severity}] `}${worst.title}${items.length > 1 ? ` and ${items.length - 1} more` : ""}`,
    body: lines.join("\n"),
    severity: worst.severity,
    type: items.length === 1 ? worst.type : "INCIDENT_GROUP",
    dedupeKey: groupDedupeKey(groupKey),
    action,
    createdAt: nowIso,
    details: {
      groupKey,
      runbook: first.response.runbook.title,
      incidents: items.map((i) => ({ id: i.id, type: i.type, severity: i.severity, state: i.state, tenantId: i.tenantId })) as JsonValue,
    },
  };
  if (tenants.size === 1) n.tenantId = [...tenants][0] ?? null;
  return n;
}

/**
 * One pass of the notification timers over the active incidents. Each incident's notification is
 * claimed with compare-and-set before sending, so many instances send it once; a failed send
 * releases the claim (at-least-once: a duplicate is preferred to a loss).
 */
export async function notifyPass(o: {
  manager: IncidentManager;
  notifier: Notifier;
  active: IncidentRecord[];
  silences: readonly Silence[];
  inhibitions: readonly InhibitionRule[];
  timers: NotificationTimers;
  nowMs: number;
  /** Told about a group whose send failed; the pass goes on with the other groups. Without it the first such error is thrown after the pass. */
  onError?: (err: unknown) => void;
}): Promise<NotifyPassReport> {
  const report: NotifyPassReport = { sent: 0, silenced: 0, inhibited: 0 };
  const failures: unknown[] = [];
  const groups = new Map<string, IncidentRecord[]>();
  for (const r of o.active) {
    if (activeSilence(o.silences, r, o.nowMs)) {
      report.silenced++;
      continue;
    }
    if (inhibitor(o.inhibitions, r, o.active)) {
      report.inhibited++;
      continue;
    }
    const k = dataOf(r).groupKey;
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const nowIso = new Date(o.nowMs).toISOString();
  for (const [groupKey, items] of groups) {
    const last = items
      .map((i) => dataOf(i).notify?.lastNotifiedAt)
      .filter((x): x is string => !!x)
      .sort()
      .pop();
    const pending = items.filter((i) => !dataOf(i).notify?.firstNotifiedAt);
    let due: boolean;
    if (!last) due = o.nowMs - Math.min(...pending.map((i) => Date.parse(dataOf(i).firstSeenAt))) >= o.timers.groupWaitMs;
    else if (pending.length > 0) due = o.nowMs - Date.parse(last) >= o.timers.groupIntervalMs;
    else due = o.nowMs - Date.parse(last) >= o.timers.repeatIntervalMs;
    if (!due) continue;
    const claimed: IncidentRecord[] = [];
    // Through the outbox: the first successful claim of the group carries the group's notification
    // in the same write, so a crash can never leave the group marked notified with nothing sent.
    let intent: PendingEffect[] | null = o.manager.outboxed ? [notifyEffect(summarize(items, groupKey, nowIso, "trigger"), nowIso)] : null;
    for (const i of items) {
      const seen = dataOf(i).notify?.lastNotifiedAt;
      const carried = intent;
      const r = await o.manager.mutate(
        i.tenantId,
        i.id,
        (_r, d) =>
          d.notify?.lastNotifiedAt !== seen
            ? null
            : { ...d, notify: { ...d.notify, firstNotifiedAt: d.notify?.firstNotifiedAt ?? nowIso, lastNotifiedAt: nowIso } },
        { claim: true, ...(carried ? { effects: () => carried } : {}) },
      );
      if (r) {
        claimed.push(r);
        intent = null;
      }
    }
    if (claimed.length === 0) continue;
    if (o.manager.outboxed) {
      report.sent++;
      continue;
    }
    try {
      await o.notifier.notify(summarize(claimed, groupKey, nowIso, "trigger"));
      report.sent++;
    } catch (err) {
      // A claim not put back leaves the group marked notified until its repeat interval: reported.
      const unreleased: unknown[] = [];
      for (const i of claimed) {
        const before = items.find((x) => x.id === i.id);
        await o.manager
          .mutate(i.tenantId, i.id, (_r, d) => ({ ...d, notify: { ...(before ? dataOf(before).notify : {}) } }))
          .catch((e: unknown) => void unreleased.push(e));
      }
      // One group's failure must not hold back the others of this pass.
      for (const e of [err, ...unreleased]) {
        if (o.onError) o.onError(e);
        else failures.push(e);
      }
    }
  }
  if (failures.length > 0) throw failures[0];
  return report;
}

/** Whether the group was told about this incident, itself or through an earlier member. */
const groupNotified = (d: IncidentData) => d.notify?.firstNotifiedAt ?? d.notify?.groupNotifiedAt;

/**
 * A notified incident's ack/resolve waits for the rest of its group: the members still active that
 * were not notified themselves inherit the group's notified state, so whichever finishes last
 * sends it (otherwise a member that joined within the group interval would never send it).
 */
async function handOver(manager: IncidentManager, peers: readonly IncidentRecord[], at: string): Promise<void> {
  for (const p of peers) {
    if (groupNotified(dataOf(p))) continue;
    await manager
      .mutate(p.tenantId, p.id, (_r, cur) => (groupNotified(cur) ? null : { ...cur, notify: { ...cur.notify, groupNotifiedAt: at } }))
      .catch(() => {});
  }
}

/** Sends the "resolve" for a resolved incident's group once no incident of the group is active. */
export async function notifyResolved(o: {
  manager: IncidentManager;
  notifier: Notifier;
  resolved: IncidentRecord;
  stillActive: IncidentRecord[];
  nowMs: number;
}): Promise<boolean> {
  const d = dataOf(o.resolved);
  const notifiedAt = groupNotified(d);
  if (!notifiedAt || d.notify?.resolvedNotifiedAt) return false;
  const peers = o.stillActive.filter((a) => a.id !== o.resolved.id && dataOf(a).groupKey === d.groupKey);
  if (peers.length > 0) {
    await handOver(o.manager, peers, notifiedAt);
    return false;
  }
  const nowIso = new Date(o.nowMs).toISOString();
  const r = await o.manager.mutate(
    o.resolved.tenantId,
    o.resolved.id,
    (_r, cur) => (cur.notify?.resolvedNotifiedAt ? null : { ...cur, notify: { ...cur.notify, resolvedNotifiedAt: nowIso } }),
    { claim: true, effects: (cur) => [notifyEffect(summarize([cur], d.groupKey, nowIso, "resolve"), nowIso)] },
  );
  if (!r) return false;
  if (!o.manager.outboxed) await o.notifier.notify(summarize([r], d.groupKey, nowIso, "resolve"));
  return true;
}

/**
 * Sends "acknowledge" for a group (PagerDuty stops escalating its dedup key) once every active
 * incident of the notified group is acknowledged or mitigated. Claimed once across instances.
 */
export async function notifyAcknowledged(o: {
  manager: IncidentManager;
  notifier: Notifier;
  acknowledged: IncidentRecord;
  active: IncidentRecord[];
  nowMs: number;
}): Promise<boolean> {
  const d = dataOf(o.acknowledged);
  const notifiedAt = groupNotified(d);
  if (!notifiedAt) return false;
  const group = o.active.filter((a) => dataOf(a).groupKey === d.groupKey);
  if (group.some((a) => a.state === "open")) {
    await handOver(
      o.manager,
      group.filter((a) => a.id !== o.acknowledged.id),
      notifiedAt,
    );
    return false;
  }
  const nowIso = new Date(o.nowMs).toISOString();
  const r = await o.manager.mutate(
    o.acknowledged.tenantId,
    o.acknowledged.id,
    (_r, cur) => (cur.notify?.ackNotifiedAt ? null : { ...cur, notify: { ...cur.notify, ackNotifiedAt: nowIso } }),
    {
      claim: true,
      effects: (cur) => [notifyEffect(summarize(group.length > 0 ? group : [cur], d.groupKey, nowIso, "acknowledge"), nowIso)],
    },
  );
  if (!r) return false;
  if (!o.manager.outboxed) await o.notifier.notify(summarize(group.length > 0 ? group : [r], d.groupKey, nowIso, "acknowledge"));
  return true;
}
