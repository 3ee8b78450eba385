import { useState } from "preact/hooks";
import { get, qs, send, type Page } from "../api";
import type { View } from "../main";
import { ActionForm, ErrorBox, More, usePaged, when } from "../ui";

interface Message {
  id: string;
  tenantId: string | null;
  channel: string;
  payload: { title?: string; action?: string; resendOf?: string };
  status: string;
  attempts: number;
  createdAt: string;
  lastError: string | null;
  finishedAt: string | null;
}

const TABS = ["pending", "failed", "dead", "expired", "cancelled", "delivered"];

export function OutboxPage({ v }: { v: View }) {
  const [status, setStatus] = useState("dead");
  const list = usePaged<Message>(
    (cursor) => get<Page<Message>>(`/outbox${qs({ status, tenant: v.tenant, cursor, limit: 25 })}`),
    [status, v.tenant],
  );
  return (
    <section>
      <h1>Notification outbox</h1>
      <div class="tabs">
        {TABS.map((t) => (
          <button type="button" class={t === status ? "active" : ""} onClick={() => setStatus(t)} data-testid={`tab-${t}`}>
            {t}
          </button>
        ))}
      </div>
      <ErrorBox error={list.error} />
      <table class="list" data-testid="outbox-table">
        <thead>
          <tr>
            <th>Message</th>
            <th>Channel</th>
            <th>Attempts</th>
            <th>Last error</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.items.map((m) => (
            <tr data-testid={`msg-${m.id}`}>
              <td data-label="Message">
                {m.payload.title ?? m.id}
                <div class="muted">
                  {m.status} · {when(m.createdAt)} · {m.tenantId ?? "global"}
                  {m.payload.resendOf ? ` · resend of ${m.payload.resendOf}` : ""}
                </div>
              </td>
              <td data-label="Channel">{m.channel}</td>
              <td data-label="Attempts">{m.attempts}</td>
              <td data-label="Last error">{m.lastError ?? "—"}</td>
              <td>
                {v.can("operate") && ["dead", "expired", "cancelled"].includes(m.status) && (
                  <ActionForm
                    label="Resend"
                    testid={`resend-${m.id}`}
                    onSubmit={async (reason) => {
                      await send("POST", `/outbox/${encodeURIComponent(m.id)}/resend`, { reason });
                    }}
                  />
                )}
                {v.can("operate") && m.status === "pending" && (
                  <ActionForm
                    label="Cancel"
                    danger
                    testid={`cancel-${m.id}`}
                    onSubmit={async (reason) => {
                      await send("POST", `/outbox/${encodeURIComponent(m.id)}/cancel`, { reason });
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
