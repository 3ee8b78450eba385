import { useEffect, useState } from "preact/hooks";
import { get, qs, send, type Page } from "../api";
import type { View } from "../main";
import { ActionForm, ErrorBox, Json, More, fmt, usePaged, when } from "../ui";

interface IncidentRow {
  id: string;
  tenantId: string | null;
  type: string;
  severity: string;
  state: string;
  title: string;
  openedAt: string;
  decision: string | null;
  occurrences: number;
  mitigation: { status: string; flags: string[] } | null;
}
interface IncidentFull extends Omit<IncidentRow, "mitigation"> {
  plan: {
    decision: string;
    steps: string[];
    rollback_plan: string[];
    runbook?: { title: string; summary: string };
    post_mitigation_checks?: string[];
  } | null;
  recommendedFlags: Array<{
    key: string;
    value: unknown;
    reason: string;
    scope: string;
    tenantId: string | null;
    applied: { value: unknown; previous: unknown } | null;
    suggestionOnly: boolean;
  }>;
  mitigation: ({ status: string; at: string; by: string; error?: string } & { flags: unknown[] }) | null;
  timeline: Array<{ from: string | null; to: string; at: string; actor: string; reason?: string }>;
  event: unknown;
}

const STATES = ["", "open", "acknowledged", "mitigated", "resolved"];

export function IncidentsPage({ v }: { v: View }) {
  const [state, setState] = useState("");
  const list = usePaged<IncidentRow>(
    (cursor) => get<Page<IncidentRow>>(`/incidents${qs({ state, tenant: v.tenant, cursor, limit: 25 })}`),
    [state, v.tenant],
  );
  return (
    <section>
      <h1>Incidents {v.tenant ? <small>tenant {v.tenant}</small> : <small>global</small>}</h1>
      <div class="filters">
        <select
          value={state}
          onChange={(e) => setState((e.target as HTMLSelectElement).value)}
          aria-label="State"
          data-testid="incident-state"
        >
          {STATES.map((s) => (
            <option value={s}>{s || "any state"}</option>
          ))}
        </select>
        <button type="button" onClick={() => list.reload()}>
          Refresh
        </button>
      </div>
      <ErrorBox error={list.error} />
      <table class="list" data-testid="incidents-table">
        <thead>
          <tr>
            <th>Incident</th>
            <th>Severity</th>
            <th>State</th>
            <th>Mitigation</th>
            <th>Opened</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((i) => (
            <tr data-testid={`incident-row-${i.type}`}>
              <td data-label="Incident">
                <a href={`#/incidents/${encodeURIComponent(i.id)}${i.tenantId ? `?tenant=${encodeURIComponent(i.tenantId)}` : ""}`}>
                  {i.title}
                </a>
                <div class="muted">{i.type}</div>
              </td>
              <td data-label="Severity">
                <span class={`badge sev-${i.severity}`}>{i.severity}</span>
              </td>
              <td data-label="State">{i.state}</td>
              <td data-label="Mitigation">{i.mitigation ? `${i.mitigation.status}: ${i.mitigation.flags.join(", ")}` : "—"}</td>
              <td data-label="Opened">{when(i.openedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={list.more} loading={list.loading} />
    </section>
  );
}

export function IncidentDetail({ v, id, tenant }: { v: View; id: string; tenant: string }) {
  const [d, setD] = useState<IncidentFull | null>(null);
  const [error, setError] = useState<unknown>(null);
  const base = `/incidents/${encodeURIComponent(id)}`;
  const t = qs({ tenant });
  const load = () =>
    get<IncidentFull>(`${base}${t}`)
      .then((x) => {
        setD(x);
        setError(null);
      })
      .catch(setError);
  useEffect(() => {
    void load();
  }, [id, tenant]);
  if (!d) return <ErrorBox error={error} />;
  const act = (what: string) => async (reason: string) => {
    await send("POST", `${base}/${what}${t}`, { reason });
    await load();
  };
  const m = d.mitigation;
  return (
    <section>
      <p>
        <a href="#/incidents">← Incidents</a>
      </p>
      <h1 data-testid="incident-title">{d.title}</h1>
      <p>
        <span class={`badge sev-${d.severity}`}>{d.severity}</span>{" "}
        <span class="badge" data-testid="incident-state-badge">
          {d.state}
        </span>{" "}
        {d.type} · {d.tenantId ? `tenant ${d.tenantId}` : "global"} · opened {when(d.openedAt)} · {d.occurrences} occurrence(s)
      </p>
      {v.can("operate") && d.state !== "resolved" && (
        <div class="card actions">
          <h2>Act</h2>
          {d.state === "open" && <ActionForm label="Acknowledge" testid="ack-form" onSubmit={act("acknowledge")} />}
          {m && ["suggested", "declined", "rolled_back"].includes(m.status) && (
            <ActionForm label="Apply mitigation" testid="mitigate-form" onSubmit={act("mitigate")} />
          )}
          {m?.status === "applied" && <ActionForm label="Roll back mitigation" danger testid="rollback-form" onSubmit={act("rollback")} />}
          <ActionForm label="Resolve" testid="resolve-form" onSubmit={act("resolve")} />
        </div>
      )}
      <div class="card" data-testid="plan">
        <h2>Response plan</h2>
        <p>
          <strong>{d.plan?.decision}</strong>
        </p>
        <ol>
          {(d.plan?.steps ?? []).map((s) => (
            <li>{s}</li>
          ))}
        </ol>
        <h3>Rollback plan</h3>
        <ul>
          {(d.plan?.rollback_plan ?? []).map((s) => (
            <li>{s}</li>
          ))}
        </ul>
        {d.plan?.runbook && (
          <p class="muted">
            Runbook: {d.plan.runbook.title} — {d.plan.runbook.summary}
          </p>
        )}
      </div>
      <div class="card">
        <h2>Recommended flags</h2>
        <p class="muted" data-testid="mitigation-status">
          Mitigation: {m ? `${m.status} (${when(m.at)} by ${m.by})${m.error ? ` — ${m.error}` : ""}` : "none"}
        </p>
        <table class="list" data-testid="recommended-flags">
          <thead>
            <tr>
              <th>Flag</th>
              <th>Value</th>
              <th>Scope</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {d.recommendedFlags.map((f) => (
              <tr>
                <td data-label="Flag">
                  <a href={`#/flags/${encodeURIComponent(f.key)}`}>{f.key}</a>
                  <div class="muted">{f.reason}</div>
                </td>
                <td data-label="Value">
                  <code>{fmt(f.value)}</code>
                </td>
                <td data-label="Scope">{f.tenantId ? `tenant ${f.tenantId}` : "global"}</td>
                <td data-label="Status">
                  {f.applied ? "applied" : f.suggestionOnly ? "suggestion for a global operator" : "not applied"}
                  {f.suggestionOnly && v.s.principal.tenantId === null && v.can("configure") && (
                    <ActionForm
                      label="Apply globally"
                      testid={`apply-${f.key}`}
                      onSubmit={async (reason) => {
                        await send("POST", `${base}/apply-suggestion${t}`, { key: f.key, reason });
                        await load();
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="card">
        <h2>Timeline</h2>
        <ol class="timeline" data-testid="timeline">
          {d.timeline.map((h) => (
            <li>
              <strong>{h.to}</strong> {when(h.at)} by {h.actor}
              {h.reason ? ` — ${h.reason}` : ""}
            </li>
          ))}
        </ol>
      </div>
      <details>
        <summary>Signals that raised it</summary>
        <Json value={d.event} />
      </details>
    </section>
  );
}

interface Silence {
  id: string;
  matcher: { types?: string[]; tenantIds?: Array<string | null>; severities?: string[] };
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export function SilencesPage({ v }: { v: View }) {
  const list = usePaged<Silence>(() => get<Page<Silence>>(`/silences${qs({ tenant: v.tenant })}`), [v.tenant]);
  const [types, setTypes] = useState("");
  const [hours, setHours] = useState("2");
  return (
    <section>
      <h1>Silences</h1>
      <ErrorBox error={list.error} />
      {v.can("operate") && (
        <div class="card">
          <h2>New silence</h2>
          <ActionForm
            label="Silence"
            testid="silence-form"
            onSubmit={async (reason) => {
              const t = types
                .split(",")
                .map((x) => x.trim())
                .filter(Boolean);
              await send("POST", "/silences", {
                matcher: t.length ? { types: t } : {},
                endsAt: new Date(Date.now() + Number(hours) * 3_600_000).toISOString(),
                reason,
              });
              await list.reload();
            }}
          >
            <input
              placeholder="incident types, comma-separated (blank: all)"
              value={types}
              onInput={(e) => setTypes((e.target as HTMLInputElement).value)}
              aria-label="Incident types"
            />
            <input
              type="number"
              min="1"
              max="720"
              value={hours}
              onInput={(e) => setHours((e.target as HTMLInputElement).value)}
              aria-label="Hours"
            />
          </ActionForm>
        </div>
      )}
      <table class="list">
        <thead>
          <tr>
            <th>Matches</th>
            <th>Until</th>
            <th>By</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.items.map((s) => (
            <tr>
              <td data-label="Matches">
                <code>{fmt(s.matcher)}</code>
                <div class="muted">{s.comment}</div>
              </td>
              <td data-label="Until">{when(s.endsAt)}</td>
              <td data-label="By">{s.createdBy}</td>
              <td>
                {v.can("operate") && (
                  <ActionForm
                    label="Expire"
                    testid={`expire-${s.id}`}
                    onSubmit={async (reason) => {
                      await send("DELETE", `/silences/${encodeURIComponent(s.id)}`, { reason });
                      await list.reload();
                    }}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={list.more} loading={list.loading} />
    </section>
  );
}
