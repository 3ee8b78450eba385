// The console's API client: the base is the page's own directory (the console's basePath).
const BASE = new URL("./api/v1", document.baseURI).pathname;
const TOKEN_KEY = "ops-console-token";

export interface Session {
  principal: { actorId: string; roles: string[]; tenantId: string | null; displayName?: string };
  permissions: string[];
  csrfToken: string;
  features: Record<"flags" | "incidents" | "audit" | "outbox" | "health", boolean>;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

let csrf = "";
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: (t: string) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY)),
};

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: "application/json" };
  const t = token.get();
  if (t) h.authorization = `Bearer ${t}`;
  if (json) h["content-type"] = "application/json";
  if (csrf) h["x-ops-csrf"] = csrf;
  return h;
}

async function failure(res: Response): Promise<ApiFailure> {
  try {
    const b = (await res.json()) as { error?: { code: string; message: string; issues?: Array<{ path: string; message: string }> } };
    if (b.error) return new ApiFailure(res.status, b.error.code, b.error.message, b.error.issues ?? []);
  } catch {
    // not JSON
  }
  return new ApiFailure(res.status, "HTTP", `HTTP ${res.status}`, []);
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
}

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${BASE}${path}`, { headers: headers(false), credentials: "same-origin" });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function send<T>(method: "POST" | "PUT" | "DELETE", path: string, body: unknown): Promise<T> {
  const res = await fetch(`${BASE}${path}`, { method, headers: headers(true), body: JSON.stringify(body), credentials: "same-origin" });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function session(): Promise<Session> {
  const s = await get<Session>("/session");
  csrf = s.csrfToken;
  return s;
}

/** Downloads a file the API streams (the export), keeping the credentials in headers. */
export async function download(path: string): Promise<void> {
  const res = await fetch(`${BASE}${path}`, { headers: headers(false), credentials: "same-origin" });
  if (!res.ok) throw await failure(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "export";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
