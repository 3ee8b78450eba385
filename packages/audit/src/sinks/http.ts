import { ConfigError, UnavailableError } from "@ops/core";

/**
 * Checks an HTTP sink's options at construction, so a typo fails at start-up instead of at the
 * first checkpoint (retried as a "network error"). The URL is a credential: never echoed.
 * @throws ConfigError naming the option.
 */
export function checkHttpSinkOptions(sink: string, o: { url?: unknown; retries?: unknown; timeoutMs?: unknown; headers?: unknown }): void {
  const bad = (path: string, message: string): never => {
    throw new ConfigError(`[ops/audit] invalid ${sink} checkpoint sink options: ${path}: ${message}`, [{ path, message }]);
  };
  if ("url" in o) {
    let u: URL | null = null;
    try {
      u = typeof o.url === "string" ? new URL(o.url) : null;
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) return bad("url", "expected an http(s) URL");
    // fetch refuses URLs with credentials; put them in `headers` (Authorization) instead.
    if (u.username !== "" || u.password !== "") bad("url", "expected no user:password in the URL (use headers)");
  }
  if (o.retries !== undefined && !(Number.isInteger(o.retries) && (o.retries as number) >= 0 && (o.retries as number) <= 20))
    bad("retries", "expected an integer 0..20");
  if (o.timeoutMs !== undefined && !(Number.isInteger(o.timeoutMs) && (o.timeoutMs as number) >= 1 && (o.timeoutMs as number) <= 600_000))
    bad("timeoutMs", "expected an integer 1..600000");
  if (
    o.headers !== undefined &&
    (typeof o.headers !== "object" || o.headers === null || Object.values(o.headers).some((v) => typeof v !== "string"))
  )
    bad("headers", "expected an object of string values");
}

/** Retries 5xx, 429 and network errors with exponential backoff; other statuses fail at once. */
export async function sendWithRetry(input: {
  sink: string;
  request: () => { url: string; init: RequestInit };
  retries: number;
  timeoutMs: number;
  okStatus?: (status: number) => boolean;
}): Promise<Response> {
  let lastError = "";
  for (let attempt = 0; attempt <= input.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** (attempt - 1))));
    const { url, init } = input.request();
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(input.timeoutMs) });
    } catch (err) {
      // Never echo the URL: presigned and webhook URLs are credentials.
      lastError = `network error (${(err as Error).name})`;
      continue;
    }
    await res.arrayBuffer().catch(() => undefined);
    if ((input.okStatus ?? ((s) => s >= 200 && s < 300))(res.status)) return res;
    lastError = `HTTP ${res.status}`;
    if (res.status !== 429 && res.status < 500) break;
  }
  throw new UnavailableError(`[ops/audit] ${input.sink} checkpoint sink failed: ${lastError}`);
}
