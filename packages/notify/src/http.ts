import { DeliveryError, kindOfStatus, parseRetryAfter } from "./delivery-error.js";
import { redactSecrets, safeOrigin } from "./secrets.js";

export interface PostResult {
  status: number;
  body: string;
}

/**
 * POSTs `body` and returns status and text for 2xx answers. Anything else becomes a classified
 * `DeliveryError` that names the channel and the origin only (the path of a webhook URL is its
 * secret). Network errors and timeouts are temporary.
 * @throws DeliveryError
 */
export async function postJson(input: {
  channel: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  secrets: readonly (string | undefined)[];
}): Promise<PostResult> {
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  const where = `[ops/notify] ${input.channel} to ${safeOrigin(input.url)}`;
  const secrets = [...input.secrets, input.url, ...urlSecrets(input.url)];
  let res: Response;
  try {
    res = await fetch(input.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...input.headers },
      body: input.body,
      signal,
      redirect: "error",
    });
  } catch (err) {
    const timedOut = signal.aborted;
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    const why = timedOut ? `timed out after ${input.timeoutMs} ms` : `network error${typeof code === "string" ? ` ${code}` : ""}`;
    throw new DeliveryError(redactSecrets(`${where}: ${why}`, secrets), { kind: "temporary" });
  }
  let text = "";
  try {
    text = await res.text();
  } catch {
    // A body cut short after the status line still leaves the status to judge by.
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const snippet = redactSecrets(text.slice(0, 200).replace(/\s+/g, " ").trim(), secrets);
  throw new DeliveryError(`${where}: HTTP ${res.status}${snippet ? ` ${snippet}` : ""}`, {
    kind: kindOfStatus(res.status),
    status: res.status,
    retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()),
  });
}

/** The parts of a URL that may be credentials: path, query, user info. */
function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.pathname.length > 1 ? u.pathname : "", u.search, u.password, u.username].filter((s) => s.length >= 4);
  } catch {
    return [];
  }
}
