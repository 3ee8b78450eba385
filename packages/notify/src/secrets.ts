/**
 * Removes every secret (and its URL-encoded and base64 forms, as SMTP AUTH echoes credentials in
 * base64) from a text meant for logs, errors or the outbox's `lastError`.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    for (const form of new Set([s, encodeURIComponent(s), Buffer.from(s).toString("base64")])) out = out.split(form).join("[redacted]");
  }
  return out;
}

/** A URL fit for logs: scheme and host only (webhook paths and queries carry tokens). */
export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "[invalid url]";
  }
}
