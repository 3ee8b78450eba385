import { UnavailableError } from "@ops/core";

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
