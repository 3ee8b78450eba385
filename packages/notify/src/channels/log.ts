import type { AdminNotification, NotificationChannel, SendContext } from "../notification.js";

export interface LogChannelOptions {
  /** Channel name (default "log"). */
  name?: string;
  appName?: string;
  /** Where JSON lines go (default: stdout). */
  write?: (line: string) => void;
}

/** One structured JSON line per notification: the fallback that always works. */
export function logChannel(options: LogChannelOptions = {}): NotificationChannel {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  return {
    name: options.name ?? "log",
    async send(n: AdminNotification, ctx?: SendContext) {
      write(
        JSON.stringify({
          level: n.severity === "critical" || n.severity === "high" ? "error" : n.severity === "medium" ? "warn" : "info",
          msg: "admin_notification",
          app: options.appName ?? "app",
          id: n.id,
          action: n.action ?? "trigger",
          severity: n.severity,
          subject: n.subject,
          body: n.body,
          type: n.type,
          tenantId: n.tenantId,
          dedupeKey: n.dedupeKey,
          link: n.link,
          details: n.details,
          createdAt: n.createdAt,
          idempotencyKey: ctx?.idempotencyKey,
        }),
      );
    },
  };
}
