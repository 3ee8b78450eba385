import { useEffect, useState } from "preact/hooks";
import { get } from "../api";
import type { View } from "../main";
import { ErrorBox, Json } from "../ui";

interface Report {
  status: string;
  checks?:
    | Record<string, Array<{ status: string; observedValue?: unknown; output?: string; time?: string }>>
    | Array<{ name: string; status: string }>;
  [k: string]: unknown;
}

export function HealthPage({ v }: { v: View }) {
  const [r, setR] = useState<Report | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<Report>("/health").then(setR).catch(setError);
  }, []);
  return (
    <section>
      <h1>Health</h1>
      {v.s.principal.tenantId !== null && <p class="muted">Health shows the app's backends: a global principal sees it.</p>}
      <ErrorBox error={error} />
      {r && (
        <>
          <p>
            Status:{" "}
            <span class={`badge ${r.status === "pass" ? "on" : "off"}`} data-testid="health-status">
              {r.status}
            </span>
          </p>
          <Json value={r} />
        </>
      )}
    </section>
  );
}
