import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";
import { DeliveryError } from "../delivery-error.js";
import { titleOf, type AdminNotification, type NotificationChannel, type SendContext } from "../notification.js";
import { redactSecrets } from "../secrets.js";

export interface EmailChannelOptions {
  /** Recipients (OPSSPINE_ADMIN_EMAIL). */
  to: string | readonly string[];
  from: string;
  smtp: {
    host: string;
    port: number;
    /** TLS from the first byte (port 465). */
    secure?: boolean;
    /** Refuse to send without STARTTLS (default false; loopback test servers have no TLS). */
    requireTLS?: boolean;
    user?: string;
    /** Secret. */
    pass?: string;
  };
  name?: string;
  appName?: string;
  timeoutMs?: number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The text and HTML bodies of a notification email. */
export function emailContent(n: AdminNotification, appName: string): { subject: string; text: string; html: string } {
  const subject = titleOf(n, appName).replace(/[\r\n]+/g, " ");
  const facts: [string, string][] = [["Severity", n.severity]];
  if (n.type) facts.push(["Type", n.type]);
  if (n.tenantId) facts.push(["Tenant", n.tenantId]);
  if (n.dedupeKey) facts.push(["Key", n.dedupeKey]);
  if (n.createdAt) facts.push(["At", n.createdAt]);
  const text = [n.body, "", ...facts.map(([k, v]) => `${k}: ${v}`), ...(n.link ? [`Link: ${n.link}`] : [])].join("\n");
  const html =
    `<h2>${escapeHtml(subject)}</h2><p style="white-space:pre-wrap">${escapeHtml(n.body)}</p>` +
    `<table>${facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>` +
    (n.link ? `<p><a href="${escapeHtml(n.link)}">Details</a></p>` : "");
  return { subject, text, html };
}

/**
 * Email through SMTP with nodemailer (text + HTML). SMTP 5xx answers (unknown mailbox, refused
 * auth) are permanent; 4xx, connection errors and timeouts are temporary. nodemailer does not
 * retry by itself: the outbox does.
 */
export function emailChannel(options: EmailChannelOptions): NotificationChannel {
  const name = options.name ?? "email";
  const timeout = options.timeoutMs ?? 15_000;
  let transport: Transporter | undefined;
  const get = () =>
    (transport ??= nodemailer.createTransport({
      host: options.smtp.host,
      port: options.smtp.port,
      secure: options.smtp.secure ?? false,
      requireTLS: options.smtp.requireTLS ?? false,
      ...(options.smtp.user ? { auth: { user: options.smtp.user, pass: options.smtp.pass ?? "" } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
    }));
  const secrets = [
    options.smtp.pass,
    options.smtp.user && options.smtp.pass ? `\u0000${options.smtp.user}\u0000${options.smtp.pass}` : undefined,
  ];
  return {
    name,
    secrets: secrets.filter((s): s is string => !!s),
    async send(n: AdminNotification, _ctx?: SendContext) {
      const content = emailContent(n, options.appName ?? "app");
      try {
        await get().sendMail({
          from: options.from,
          to: typeof options.to === "string" ? options.to : [...options.to],
          subject: content.subject,
          text: content.text,
          html: content.html,
          headers: n.id ? { "X-Ops-Notification-Id": n.id } : {},
        });
      } catch (err) {
        // nodemailer errors carry the failed SMTP command (AUTH PLAIN <base64 credentials>): keep only
        // the code and the server's response code, never the error object itself.
        const e = err as { code?: unknown; responseCode?: unknown; response?: unknown };
        const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
        const reply = typeof e.response === "string" ? ` ${redactSecrets(e.response.slice(0, 200), secrets)}` : "";
        const code = typeof e.code === "string" ? e.code : "ERROR";
        throw new DeliveryError(
          `[ops/notify] ${name} via ${options.smtp.host}:${options.smtp.port}: ${code}${responseCode ? ` ${responseCode}` : ""}${reply}`,
          {
            kind: responseCode !== undefined && responseCode >= 500 ? "permanent" : "temporary",
            status: responseCode,
          },
        );
      }
    },
    async close() {
      transport?.close();
      transport = undefined;
    },
  };
}
