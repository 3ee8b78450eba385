import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, session, token, type Session } from "./api";
import { AuditPage } from "./pages/audit";
import { FlagDetail, FlagsPage } from "./pages/flags";
import { HealthPage } from "./pages/health";
import { IncidentDetail, IncidentsPage, SilencesPage } from "./pages/incidents";
import { OutboxPage } from "./pages/outbox";
import { ErrorBox } from "./ui";

export interface View {
  s: Session;
  /** The tenant the global principal is looking at ("" = global); a tenant principal's own. */
  tenant: string;
  can: (perm: string) => boolean;
}

function useHash(): string {
  const [h, setH] = useState(location.hash || "#/flags");
  useEffect(() => {
    const on = () => setH(location.hash || "#/flags");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return h;
}

function Login({ onDone, error }: { onDone: () => void; error: unknown }) {
  const [t, setT] = useState("");
  return (
    <main class="login">
      <h1>Operations console</h1>
      <p>
        Sign in with the token your app issues for operators (sent as <code>Authorization: Bearer</code>, kept in this tab only).
      </p>
      <form
        data-testid="login-form"
        onSubmit={(e) => {
          e.preventDefault();
          token.set(t.trim());
          onDone();
        }}
      >
        <textarea
          name="token"
          rows={4}
          placeholder="Paste your token"
          value={t}
          onInput={(e) => setT((e.target as HTMLTextAreaElement).value)}
          aria-label="Token"
        />
        <button type="submit">Sign in</button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

const NAV: Array<[string, string, keyof Session["features"] | null]> = [
  ["#/flags", "Flags", "flags"],
  ["#/incidents", "Incidents", "incidents"],
  ["#/silences", "Silences", "incidents"],
  ["#/audit", "Audit", "audit"],
  ["#/outbox", "Outbox", "outbox"],
  ["#/health", "Health", "health"],
];

function App() {
  const [s, setS] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checked, setChecked] = useState(false);
  const [tenant, setTenant] = useState("");
  const hash = useHash();
  const connect = () =>
    session()
      .then((x) => {
        setS(x);
        setError(null);
        setTenant(x.principal.tenantId ?? "");
      })
      .catch((err: unknown) => {
        setS(null);
        if (!(err instanceof ApiFailure && err.status === 401 && !token.get())) setError(err);
      })
      .finally(() => setChecked(true));
  useEffect(() => {
    void connect();
  }, []);
  if (!checked) return <p class="muted">Loading…</p>;
  if (!s) return <Login onDone={() => void connect()} error={error} />;
  const view: View = { s, tenant: s.principal.tenantId ?? tenant, can: (p) => s.permissions.includes(p) };
  const [path, query = ""] = hash.slice(1).split("?");
  const parts = (path ?? "").split("/").filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query);
  let page;
  if (parts[0] === "flags" && parts[1]) page = <FlagDetail v={view} flagKey={parts[1]} />;
  else if (parts[0] === "incidents" && parts[1]) page = <IncidentDetail v={view} id={parts[1]} tenant={q.get("tenant") ?? view.tenant} />;
  else if (parts[0] === "incidents") page = <IncidentsPage v={view} />;
  else if (parts[0] === "silences") page = <SilencesPage v={view} />;
  else if (parts[0] === "audit") page = <AuditPage v={view} />;
  else if (parts[0] === "outbox") page = <OutboxPage v={view} />;
  else if (parts[0] === "health") page = <HealthPage v={view} />;
  else page = <FlagsPage v={view} />;
  const p = s.principal;
  return (
    <div class="shell">
      <header>
        <strong class="brand">ops console</strong>
        <nav>
          {NAV.filter(([, , f]) => !f || s.features[f]).map(([href, label]) => (
            <a href={href} class={hash.startsWith(href) ? "active" : ""} data-testid={`nav-${label.toLowerCase()}`}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who" data-testid="who">
          <span>{p.displayName ?? p.actorId}</span>
          <span class="badge">{p.roles.join(", ") || "no role"}</span>
          <span class="badge scope">{p.tenantId === null ? "global" : `tenant ${p.tenantId}`}</span>
          {p.tenantId === null && (
            <input
              class="tenant-pick"
              placeholder="view tenant (blank: global)"
              value={tenant}
              data-testid="tenant-pick"
              onChange={(e) => setTenant((e.target as HTMLInputElement).value.trim())}
              aria-label="Tenant to view"
            />
          )}
          <button
            type="button"
            class="link"
            onClick={() => {
              token.set("");
              setS(null);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main key={`${hash}|${view.tenant}`}>{page}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
