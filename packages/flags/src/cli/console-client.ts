import * as z from "zod";
import { ConfigError, OpsError, type OpsErrorCode } from "@ops/core";

/** Where the CLI talks to a running `@ops/console`: the API base and the bearer token (from the environment only). */
export interface ConsoleTarget {
  /** `<console url>/api/v1`, without a trailing slash. */
  readonly api: string;
  /** For messages: scheme, host and port only (never a path, query or credential). */
  readonly origin: string;
  readonly token: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

const UrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .transform((s, ctx) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected an http(s) URL such as https://ops.example.com/ops" });
      return z.NEVER;
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") ctx.addIssue({ code: "custom", message: "expected an http or https URL" });
    if (u.username !== "" || u.password !== "")
      ctx.addIssue({ code: "custom", message: "expected no credentials in the URL: put the token in OPS_CONSOLE_TOKEN" });
    if (u.search !== "" || u.hash !== "") ctx.addIssue({ code: "custom", message: "expected no query or fragment" });
    return u;
  });

/**
 * Reads `--console-url` (or `OPS_CONSOLE_URL`) and `OPS_CONSOLE_TOKEN`. The token is sent as
 * `Authorization: Bearer`; it is read from the environment only (never from arguments, which
 * other users can see) and never printed. Plain http is refused except to a loopback host,
 * unless `OPS_CONSOLE_INSECURE=1`.
 * @throws ConfigError naming the field (the URL itself is never echoed: it may hold a secret)
 */
export function consoleTarget(url: string, env: NodeJS.ProcessEnv): ConsoleTarget {
  const parsed = UrlSchema.safeParse(url);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => i.message).join("; ");
    throw new ConfigError(`[ops/flags] --console-url: ${msg}`, [{ path: "console-url", message: msg }]);
  }
  const u = parsed.data;
  if (u.protocol === "http:" && !LOOPBACK.has(u.hostname) && env.OPS_CONSOLE_INSECURE !== "1")
    throw new ConfigError("[ops/flags] --console-url: plain http would send the token in clear; use https (or OPS_CONSOLE_INSECURE=1)", [
      { path: "console-url", message: "expected https" },
    ]);
  const token = env.OPS_CONSOLE_TOKEN ?? "";
  if (token.trim() === "")
    throw new ConfigError("[ops/flags] OPS_CONSOLE_TOKEN is not set: the console needs a bearer token", [
      { path: "OPS_CONSOLE_TOKEN", message: "required with --console-url" },
    ]);
  return { api: `${u.origin}${u.pathname.replace(/\/+$/, "")}/api/v1`, origin: u.origin, token: token.trim() };
}

const CODES: Record<string, OpsErrorCode> = {
  VALIDATION: "VALIDATION",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  FORBIDDEN: "TENANT_ISOLATION",
  UNAVAILABLE: "UNAVAILABLE",
};

/** The console refused or failed a request; `status` is the HTTP status, `code` the console's error code. */
export class ConsoleRequestError extends OpsError {
  constructor(
    code: OpsErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

/**
 * One JSON request to the console API. Redirects are refused (the token must not follow them to
 * another origin); the answer's error is rethrown with the console's message.
 * @throws ConsoleRequestError
 */
export async function consoleRequest<T>(t: ConsoleTarget, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: "error",
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const why = err instanceof Error && err.name === "TimeoutError" ? "did not answer within 15 s" : "could not be reached";
    throw new ConsoleRequestError("UNAVAILABLE", `[ops/flags] the console at ${t.origin} ${why}`, 0);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text === "" ? null : JSON.parse(text);
  } catch {
    // A proxy's HTML error page: reported by status below.
  }
  if (res.ok) return data as T;
  const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
  if (res.status === 401)
    throw new ConsoleRequestError("CONFIG", `[ops/flags] the console at ${t.origin} refused the token (401): check OPS_CONSOLE_TOKEN`, 401);
  const code = CODES[e?.code ?? ""] ?? (res.status >= 500 ? "UNAVAILABLE" : "VALIDATION");
  throw new ConsoleRequestError(code, `[ops/flags] console: ${e?.message ?? `HTTP ${res.status}`}`, res.status);
}
