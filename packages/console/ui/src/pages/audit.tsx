import { useState } from "preact/hooks";
import { download, get, qs, type Page } from "../api";
import type { View } from "../main";
import { ActionForm, ErrorBox, More, fmt, usePaged, when } from "../ui";

interface Entry {
  id: string;
  seq: number;
  ts: string;
  action: string;
  actor: { id: string; type: string };
  target?: { id: string; type?: string | null } | null;
  outcome: string;
  reason?: string | null;
  meta: Record<string, unknown>;
}
interface Verify {
  ok: boolean;
  checked?: number;
  problems?: Array<{ seq?: number; kind?: string; message?: string }>;
  [k: string]: unknown;
}

const FIELDS = [
  ["actorId", "Actor"],
  ["action", "Action (e.g. FLAG_CHANGE)"],
  ["targetId", "Target"],
] as const;

export function AuditPage({ v }: { v: View }) {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [verify, setVerify] = useState<Verify | null>(null);
  const [vErr, setVErr] = useState<unknown>(null);
  const [format, setFormat] = useState("jsonl");
  const toIso = (s: string | undefined) => (s ? new Date(s).toISOString() : undefined);
  const params = { ...filters, from: toIso(filters.from), to: toIso(filters.to), tenant: v.tenant };
  const list = usePaged<Entry>(
    (cursor) => get<Page<Entry>>(`/audit${qs({ ...params, cursor, limit: 25 })}`),
    [JSON.stringify(filters), v.tenant],
  );
  return (
    <section>
      <h1>Audit trail {v.tenant ? <small>tenant {v.tenant}</small> : <small>global chain</small>}</h1>
      <div class="card">
        <button
          type="button"
          data-testid="verify"
          onClick={() =>
            get<Verify>(`/audit/verify${qs({ tenant: v.tenant })}`)
              .then((r) => {
                setVerify(r);
                setVErr(null);
              })
              .catch(setVErr)
          }
        >
          Verify chain
        </button>
        {verify && (
          <span data-testid="verify-result" class={verify.ok ? "ok" : "error"}>
            {verify.ok
              ? ` Chain verified${verify.checked !== undefined ? ` (${verify.checked} entries)` : ""}`
              : ` Chain broken: ${fmt(verify.problems ?? verify)}`}
          </span>
        )}
        <ErrorBox error={vErr} />
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(Object.fromEntries(Object.entries(draft).filter(([, x]) => x)));
        }}
      >
        {FIELDS.map(([k, label]) => (
          <input
            placeholder={label}
            value={draft[k] ?? ""}
            onInput={(e) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })}
            aria-label={label}
            data-testid={`audit-${k}`}
          />
        ))}
        <input
          type="datetime-local"
          value={draft.from ?? ""}
          onInput={(e) => setDraft({ ...draft, from: (e.target as HTMLInputElement).value })}
          aria-label="From"
        />
        <input
          type="datetime-local"
          value={draft.to ?? ""}
          onInput={(e) => setDraft({ ...draft, to: (e.target as HTMLInputElement).value })}
          aria-label="To"
        />
        <button type="submit">Filter</button>
      </form>
      {v.can("export") && (
        <div class="card">
          <ActionForm
            label="Export"
            testid="export-form"
            onSubmit={(reason) => download(`/audit/export${qs({ ...params, format, reason })}`)}
          >
            <select value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)} aria-label="Format">
              <option value="jsonl">JSONL (verifiable)</option>
              <option value="csv">CSV</option>
            </select>
          </ActionForm>
        </div>
      )}
      <ErrorBox error={list.error} />
      <table class="list" data-testid="audit-table">
        <thead>
          <tr>
            <th>#</th>
            <th>When</th>
            <th>Action</th>
            <th>Actor</th>
            <th>Target</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((e) => (
            <tr>
              <td data-label="#">{e.seq}</td>
              <td data-label="When">{when(e.ts)}</td>
              <td data-label="Action">
                {e.action} <span class="muted">{e.outcome}</span>
              </td>
              <td data-label="Actor">{e.actor.id}</td>
              <td data-label="Target">{e.target ? `${e.target.type ?? ""} ${e.target.id}` : "—"}</td>
              <td data-label="Reason">{e.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={list.more} loading={list.loading} />
    </section>
  );
}
