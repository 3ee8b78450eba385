import { createHmac } from "node:crypto";
import type { CheckpointSink } from "./types.js";
import { sendWithRetry } from "./http.js";

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

/** POSTs each checkpoint as JSON (`application/json`); any 2xx is success. */
export function webhookCheckpointSink(options: WebhookSinkOptions): CheckpointSink {
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
