import { createHmac } from "node:crypto";
import { ConfigError } from "@ops/core";
import type { CheckpointSink } from "./types.js";
import { checkHttpSinkOptions, sendWithRetry } from "./http.js";

export interface WebhookSinkOptions {
  /** Secret: never logged, never in error messages. */
  url: string;
  /** When set, `x-ops-signature: sha256=<hex HMAC of the body>` lets the receiver authenticate us. */
  secret?: string;
  headers?: Record<string, string>;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Retries after the first attempt on 5xx/429/network errors (default 3). */
  retries?: number;
}

/**
 * POSTs each checkpoint as JSON (`application/json`); any 2xx is success.
 * @throws ConfigError for a bad option (the URL is never echoed).
 */
export function webhookCheckpointSink(options: WebhookSinkOptions): CheckpointSink {
  checkHttpSinkOptions("webhook", {
    url: options?.url,
    retries: options?.retries,
    timeoutMs: options?.timeoutMs,
    headers: options?.headers,
  });
  if (options.secret !== undefined && (typeof options.secret !== "string" || options.secret.length === 0))
    throw new ConfigError("[ops/audit] invalid webhook checkpoint sink options: secret: expected a non-empty string", [
      { path: "secret", message: "expected a non-empty string" },
    ]);
  return {
    name: "webhook",
    async write(cp) {
      const body = JSON.stringify(cp);
      const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
      if (options.secret) headers["x-ops-signature"] = `sha256=${createHmac("sha256", options.secret).update(body).digest("hex")}`;
      await sendWithRetry({
        sink: "webhook",
        request: () => ({ url: options.url, init: { method: "POST", headers, body } }),
        retries: options.retries ?? 3,
        timeoutMs: options.timeoutMs ?? 10_000,
      });
    },
  };
}
