import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, type Page } from "./api";

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiFailure ? error : null;
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{e ? `${e.code}: ` : ""}</strong>
      {e ? e.message : String((error as Error)?.message ?? error)}
      {e && e.issues.length > 0 && (
        <ul>
          {e.issues.map((i) => (
            <li>
              <code>{i.path}</code> {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A change needs a reason: the form refuses to send without one. */
export function ActionForm(props: {
  label: string;
  testid: string;
  onSubmit: (reason: string) => Promise<unknown>;
  danger?: boolean;
  children?: ComponentChildren;
}) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  return (
    <form
      class="action"
      data-testid={props.testid}
      onSubmit={async (e) => {
        e.preventDefault();
        if (!reason.trim()) return setError(new Error("a reason is required for every change"));
        setBusy(true);
        setError(null);
        setDone(false);
        try {
          await props.onSubmit(reason.trim());
          setReason("");
          setDone(true);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.children}
      <input
        name="reason"
        required
        placeholder="Reason (required, audited)"
        value={reason}
        onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        aria-label={`Reason for ${props.label}`}
      />
      <button type="submit" class={props.danger ? "danger" : ""} disabled={busy}>
        {props.label}
      </button>
      {done && <span class="ok">done</span>}
      <ErrorBox error={error} />
    </form>
  );
}

/** Loads pages through the API's keyset cursors: "More" appends the next page. */
export function usePaged<T>(load: (cursor: string | null) => Promise<Page<T>>, deps: unknown[]) {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const fetchPage = async (cursor: string | null, append: boolean) => {
    setLoading(true);
    try {
      const p = await load(cursor);
      setItems((old) => (append ? [...old, ...p.items] : p.items));
      setNext(p.nextCursor);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void fetchPage(null, false);
  }, deps);
  return { items, error, loading, more: next ? () => fetchPage(next, true) : null, reload: () => fetchPage(null, false) };
}

export function More({ more, loading }: { more: (() => unknown) | null; loading: boolean }) {
  if (!more)
    return (
      <p class="muted" data-testid="end-of-list">
        {loading ? "Loading…" : "End of list."}
      </p>
    );
  return (
    <button type="button" class="more" data-testid="more" onClick={() => more()} disabled={loading}>
      More
    </button>
  );
}

export const fmt = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}
