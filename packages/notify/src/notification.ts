import * as z from "zod";
import {
  isStorableText,
  JsonObjectSchema,
  SeveritySchema,
  storableJson,
  TenantIdSchema,
  IsoDateTimeSchema,
  parseInput,
  UNSTORABLE_MESSAGE,
  type AdminNotification,
} from "@ops/core";

// Storable text (one definition in @ops/core): refused here, before anything is enqueued.
const storable = (s: z.ZodString) => s.refine(isStorableText, UNSTORABLE_MESSAGE);

export type { AdminNotification } from "@ops/core";

/** The notification as the outbox keeps it: id and time always set. */
export type NormalizedNotification = AdminNotification & { id: string; createdAt: string; action: NotificationAction };
export type NotificationAction = "trigger" | "acknowledge" | "resolve";

export const AdminNotificationSchema = z
  .object({
    id: storable(z.string().min(1).max(200, "expected an id of at most 200 characters")).optional(),
    subject: storable(z.string().trim().min(1, "expected a non-empty subject").max(2000)),
    body: storable(z.string().max(100_000, "expected a body of at most 100000 characters")),
    severity: SeveritySchema,
    // null is core's TenantKey for "no tenant" (a global incident): same as absent.
    tenantId: TenantIdSchema.nullable().optional(),
    type: storable(z.string().min(1).max(128)).optional(),
    dedupeKey: storable(z.string().min(1).max(1000, "expected a dedupe key of at most 1000 characters")).optional(),
    action: z.enum(["trigger", "acknowledge", "resolve"]).optional(),
    link: z.url({ protocol: /^https?$/, message: "expected an http(s) URL" }).optional(),
    details: storableJson(JsonObjectSchema).optional(),
    createdAt: IsoDateTimeSchema.optional(),
  })
  .strict()
  .superRefine((n, ctx) => {
    if ((n.action === "acknowledge" || n.action === "resolve") && !n.dedupeKey)
      ctx.addIssue({ code: "custom", path: ["dedupeKey"], message: `required when action is ${n.action}` });
  });

/**
 * Validates a notification at the public boundary.
 * @throws ValidationError naming each bad field.
 */
export function parseNotification(input: unknown): z.output<typeof AdminNotificationSchema> {
  return parseInput(AdminNotificationSchema, input, { pkg: "notify", what: "notification" });
}

/** What a provider is told about the attempt it is making. */
export interface SendContext {
  /** Stable across retries of one message: receivers dedupe on it. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt times out; providers pass it to their I/O. */
  signal?: AbortSignal;
}

/**
 * A provider of your own: anything with `send(n)`. `send` resolves when the receiver accepted
 * the message and throws a `DeliveryError` saying whether a retry can help; any other error
 * counts as temporary. Errors must not carry secrets (URLs, keys, passwords).
 */
export interface NotificationProvider {
  send(n: AdminNotification, ctx?: SendContext): Promise<void>;
}

/** A provider with a name: what routes, the outbox and the worker work with. */
export interface NotificationChannel extends NotificationProvider {
  /** Channel name used by routes and the outbox ("slack", "email", "pagerduty", ...). */
  readonly name: string;
  /**
   * Values the worker scrubs from everything it logs, stores or audits (URLs with tokens, keys,
   * passwords), whichever channel's error they turn up in.
   */
  readonly secrets?: readonly string[];
  /** The receiver's documented pace; the worker's `rateLimits` override it. */
  readonly rateLimit?: { perSecond: number; burst?: number };
  /** Releases pooled connections. */
  close?(): Promise<void>;
}

/**
 * Names a provider of your own (e.g. `class PagerDutyProvider { send(n) }`) so it can be a
 * channel. `secrets` are scrubbed from logs and stored errors.
 */
export function namedChannel(name: string, provider: NotificationProvider, options: { secrets?: string[] } = {}): NotificationChannel {
  return {
    name,
    secrets: options.secrets ?? [],
    send: (n, ctx) => provider.send(n, ctx),
    ...(typeof (provider as Partial<NotificationChannel>).close === "function"
      ? { close: () => (provider as NotificationChannel).close!() }
      : {}),
  };
}

/** "[app] [CRITICAL] subject" style prefix, shared by the text channels. */
export function titleOf(n: AdminNotification, appName: string): string {
  const state = n.action === "resolve" ? "RESOLVED" : n.action === "acknowledge" ? "ACKNOWLEDGED" : n.severity.toUpperCase();
  return `[${appName}] [${state}] ${n.subject}`;
}
