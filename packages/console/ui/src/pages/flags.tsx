import { useEffect, useState } from "preact/hooks";
import { get, qs, send, type Page } from "../api";
import type { View } from "../main";
import { ActionForm, ErrorBox, Json, More, fmt, usePaged, when } from "../ui";

interface FlagRow {
  key: string;
  type: string | null;
  value: unknown;
  enabled: boolean;
  rules: number;
  rollout: { percentage?: number } | null;
  scheduled: number;
  version: number;
  updatedAt: string;
  updatedBy: string;
  effective: { value: unknown; reason: string; variant: string | null; ruleId: string | null; errorCode: string | null };
}
interface FlagDetailData extends FlagRow {
  tenantId: string | null;
  description: string | null;
  config: { offValue: unknown; rules: unknown[]; variants: unknown };
  schedule: Array<{ id: string; at: string; actor: string; reason: string; patch: unknown }>;
  override: { tenantId: string; value: unknown; version: number; updatedAt: string; updatedBy: string } | null;
  evaluation: {
    context: Record<string, unknown>;
    value: unknown;
    reason: string;
    variant: string | null;
    ruleId: string | null;
    errorCode: string | null;
    errorMessage: string | null;
  };
  history: Page<{
    id: string;
    action: string;
    actor: { id: string };
    reason?: string;
    ts: string;
    meta?: { operation?: string; after?: unknown };
  }> | null;
}

export function FlagsPage({ v }: { v: View }) {
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  const list = usePaged<FlagRow>(
    (cursor) => get<Page<FlagRow>>(`/flags${qs({ q: applied, tenant: v.tenant, cursor, limit: 25 })}`),
    [applied, v.tenant],
  );
  return (
    <section>
      <h1>Flags {v.tenant && <small>as served to tenant {v.tenant}</small>}</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(search);
        }}
      >
        <input
          type="search"
          placeholder="Search keys"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          data-testid="flag-search"
          aria-label="Search flags"
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      <table class="list" data-testid="flags-table">
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
            <th>Served</th>
            <th>State</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((f) => (
            <tr data-testid={`flag-row-${f.key}`}>
              <td data-label="Key">
                <a href={`#/flags/${encodeURIComponent(f.key)}`}>{f.key}</a>
              </td>
              <td data-label="Value">
                <code>{fmt(f.value)}</code>
              </td>
              <td data-label="Served">
                <code data-testid="served">{fmt(f.effective.value)}</code> <span class="muted">{f.effective.reason}</span>
              </td>
              <td data-label="State">
                {f.enabled ? <span class="badge on">on</span> : <span class="badge off">killed</span>}
                {f.rollout?.percentage !== undefined && <span class="badge">{f.rollout.percentage}%</span>}
                {f.scheduled > 0 && <span class="badge">{f.scheduled} scheduled</span>}
              </td>
              <td data-label="Updated">
                {when(f.updatedAt)} <span class="muted">by {f.updatedBy}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={list.more} loading={list.loading} />
    </section>
  );
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function FlagDetail({ v, flagKey }: { v: View; flagKey: string }) {
  const [d, setD] = useState<FlagDetailData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [value, setValue] = useState("");
  const [override, setOverride] = useState("");
  const [pct, setPct] = useState("");
  const [at, setAt] = useState("");
  const [patch, setPatch] = useState('{"enabled": false}');
  const path = `/flags/${encodeURIComponent(flagKey)}`;
  const load = () =>
    get<FlagDetailData>(`${path}${qs({ tenant: v.tenant })}`)
      .then((x) => {
        setD(x);
        setError(null);
      })
      .catch(setError);
  useEffect(() => {
    void load();
  }, [flagKey, v.tenant]);
  if (!d) return <ErrorBox error={error} />;
  const global = v.s.principal.tenantId === null;
  const after = async (p: Promise<unknown>) => {
    await p;
    await load();
  };
  return (
    <section>
      <p>
        <a href="#/flags">← Flags</a>
      </p>
      <h1 data-testid="flag-title">{d.key}</h1>
      {d.description && <p>{d.description}</p>}
      <div class="cards">
        <div class="card">
          <h2>Definition</h2>
          <dl>
            <dt>Type</dt>
            <dd>{d.type}</dd>
            <dt>Value</dt>
            <dd>
              <code data-testid="flag-value">{fmt(d.value)}</code>
            </dd>
            <dt>Kill switch</dt>
            <dd data-testid="flag-enabled">{d.enabled ? "enabled" : "KILLED (serving the off value)"}</dd>
            <dt>Rollout</dt>
            <dd>{d.rollout ? <code>{fmt(d.rollout)}</code> : "none"}</dd>
            <dt>Rules</dt>
            <dd>{d.rules}</dd>
            <dt>Version</dt>
            <dd>
              {d.version}, {when(d.updatedAt)} by {d.updatedBy}
            </dd>
          </dl>
        </div>
        <div class="card">
          <h2>Evaluation {d.tenantId ? `for tenant ${d.tenantId}` : "(global)"}</h2>
          <dl data-testid="evaluation">
            <dt>Served</dt>
            <dd>
              <code data-testid="eval-value">{fmt(d.evaluation.value)}</code>
            </dd>
            <dt>Reason</dt>
            <dd data-testid="eval-reason">{d.evaluation.reason}</dd>
            {d.evaluation.ruleId && (
              <>
                <dt>Rule</dt>
                <dd>{d.evaluation.ruleId}</dd>
              </>
            )}
            {d.evaluation.errorCode && (
              <>
                <dt>Error</dt>
                <dd>
                  {d.evaluation.errorCode}: {d.evaluation.errorMessage}
                </dd>
              </>
            )}
          </dl>
          {d.tenantId && (
            <p>
              Override for {d.tenantId}: <code data-testid="override-value">{d.override ? fmt(d.override.value) : "none"}</code>
            </p>
          )}
        </div>
      </div>

      {v.can("operate") && d.tenantId && (
        <div class="card">
          <h2>Tenant override ({d.tenantId})</h2>
          <ActionForm
            label="Set override"
            testid="override-form"
            onSubmit={(reason) =>
              after(send("PUT", `${path}/overrides/${encodeURIComponent(d.tenantId!)}`, { value: parseValue(override), reason }))
            }
          >
            <input
              name="value"
              placeholder="value (JSON, e.g. true)"
              value={override}
              onInput={(e) => setOverride((e.target as HTMLInputElement).value)}
              aria-label="Override value"
            />
          </ActionForm>
          {d.override && (
            <ActionForm
              label="Clear override"
              testid="clear-override-form"
              onSubmit={(reason) => after(send("DELETE", `${path}/overrides/${encodeURIComponent(d.tenantId!)}`, { reason }))}
            />
          )}
        </div>
      )}

      {global && v.can("configure") && (
        <div class="card">
          <h2>Change (every tenant)</h2>
          <ActionForm
            label="Set value"
            testid="value-form"
            onSubmit={(reason) => after(send("PUT", `${path}/value`, { value: parseValue(value), reason }))}
          >
            <input
              name="value"
              placeholder="new value (JSON, e.g. true)"
              value={value}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
              aria-label="New value"
            />
          </ActionForm>
          <ActionForm
            label={d.enabled ? "Kill switch: turn off" : "Turn back on"}
            danger={d.enabled}
            testid="kill-form"
            onSubmit={(reason) => after(send("PUT", `${path}/enabled`, { enabled: !d.enabled, reason }))}
          />
          <ActionForm
            label="Set rollout"
            testid="rollout-form"
            onSubmit={(reason) =>
              after(
                send("PUT", `${path}/rollout`, {
                  rollout: pct === "" ? null : { percentage: Number(pct), value: d.type === "boolean" ? true : d.value },
                  reason,
                }),
              )
            }
          >
            <input
              name="percentage"
              type="number"
              min="0"
              max="100"
              placeholder="% (blank: remove)"
              value={pct}
              onInput={(e) => setPct((e.target as HTMLInputElement).value)}
              aria-label="Rollout percentage"
            />
          </ActionForm>
          <ActionForm
            label="Schedule change"
            testid="schedule-form"
            onSubmit={(reason) =>
              after(send("POST", `${path}/schedule`, { at: new Date(at).toISOString(), patch: JSON.parse(patch), reason }))
            }
          >
            <input
              name="at"
              type="datetime-local"
              value={at}
              onInput={(e) => setAt((e.target as HTMLInputElement).value)}
              aria-label="When"
            />
            <input name="patch" value={patch} onInput={(e) => setPatch((e.target as HTMLInputElement).value)} aria-label="Patch (JSON)" />
          </ActionForm>
        </div>
      )}

      <div class="card">
        <h2>Scheduled changes</h2>
        {d.schedule.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul class="plain">
            {d.schedule.map((s) => (
              <li>
                {when(s.at)}: <code>{fmt(s.patch)}</code> by {s.actor} — {s.reason}
                {global && v.can("configure") && (
                  <ActionForm
                    label="Cancel"
                    testid={`cancel-${s.id}`}
                    onSubmit={(reason) => after(send("DELETE", `${path}/schedule/${encodeURIComponent(s.id)}`, { reason }))}
                  />
                )}
              </li>
            ))}
          </ul>
        )}
      </div>

      <div class="card">
        <h2>Change history (audit trail)</h2>
        <table class="list" data-testid="flag-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {(d.history?.items ?? []).map((e) => (
              <tr>
                <td data-label="When">{when(e.ts)}</td>
                <td data-label="Who">{e.actor.id}</td>
                <td data-label="What">
                  {e.meta?.operation ?? e.action} <code>{e.meta?.after !== undefined ? fmt(e.meta.after) : ""}</code>
                </td>
                <td data-label="Reason">{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>Rules and variants</summary>
        <Json value={d.config} />
      </details>
    </section>
  );
}
