/** One JSON line per event: what the service reports about itself (never secrets). */
export interface ServiceLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** Raw lines from the notification log channel (one JSON document each). */
  notification(line: string): void;
}

/** JSON lines to stdout (info, notifications) and stderr (warn, error), or to `write`. */
export function jsonLogger(write?: (line: string, level: "info" | "warn" | "error") => void): ServiceLogger {
  const out = write ?? ((line: string, level: string) => void (level === "info" ? process.stdout : process.stderr).write(`${line}\n`));
  const emit =
    (level: "info" | "warn" | "error") =>
    (event: string, fields: Record<string, unknown> = {}) =>
      out(JSON.stringify({ level, time: new Date().toISOString(), svc: "ops-example", event, ...fields }), level);
  return { info: emit("info"), warn: emit("warn"), error: emit("error"), notification: (line) => out(line, "info") };
}

/** Describes an error for a log line: class, code and message only (no stack, no cause values). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { error: err.name, code: (err as { code?: unknown }).code, message: err.message };
  return { error: String(err) };
}
