import * as z from "zod";
import { ConfigError, issuesFromZod } from "./errors.js";

export const NOTIFY_MODES = ["webhook", "email", "log"] as const;
export type NotifyMode = (typeof NOTIFY_MODES)[number];

const EnvSchema = z
  .object({
    APP_NAME: z.string().trim().min(1, "expected a non-empty app name").max(100).default("app"),
    OPSSPINE_ADMIN_EMAIL: z.email("expected an email address such as ops@example.com").optional(),
    OPSSPINE_WEBHOOK_URL: z.url({ protocol: /^https?$/, message: "expected an http(s) URL" }).optional(),
    OPSSPINE_NOTIFY_MODE: z.enum(NOTIFY_MODES, { message: "expected one of webhook, email, log" }).default("log"),
  })
  .superRefine((env, ctx) => {
    if (env.OPSSPINE_NOTIFY_MODE === "webhook" && !env.OPSSPINE_WEBHOOK_URL)
      ctx.addIssue({
        code: "custom",
        path: ["OPSSPINE_WEBHOOK_URL"],
        message: "required when OPSSPINE_NOTIFY_MODE=webhook",
      });
    if (env.OPSSPINE_NOTIFY_MODE === "email" && !env.OPSSPINE_ADMIN_EMAIL)
      ctx.addIssue({
        code: "custom",
        path: ["OPSSPINE_ADMIN_EMAIL"],
        message: "required when OPSSPINE_NOTIFY_MODE=email",
      });
  });

/** The environment variables @ops reads (`APP_NAME`, `OPSSPINE_*`), validated. */
export interface OpsEnvConfig {
  appName: string;
  adminEmail: string | undefined;
  /** Secret: never log it. */
  webhookUrl: string | undefined;
  notifyMode: NotifyMode;
}

/**
 * Reads `APP_NAME`, `OPSSPINE_ADMIN_EMAIL`, `OPSSPINE_WEBHOOK_URL` and `OPSSPINE_NOTIFY_MODE`.
 * Empty strings count as unset. The error names each bad variable but never echoes its value
 * (a webhook URL is a secret).
 * @throws ConfigError
 */
export function loadOpsEnv(env: Record<string, string | undefined> = process.env): OpsEnvConfig {
  const pick = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const result = EnvSchema.safeParse({
    APP_NAME: pick("APP_NAME"),
    OPSSPINE_ADMIN_EMAIL: pick("OPSSPINE_ADMIN_EMAIL"),
    OPSSPINE_WEBHOOK_URL: pick("OPSSPINE_WEBHOOK_URL"),
    OPSSPINE_NOTIFY_MODE: pick("OPSSPINE_NOTIFY_MODE")?.toLowerCase(),
  });
  if (!result.success) {
    const issues = issuesFromZod(result.error);
    throw new ConfigError(`[ops/core] invalid environment: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const e = result.data;
  return {
    appName: e.APP_NAME,
    adminEmail: e.OPSSPINE_ADMIN_EMAIL,
    webhookUrl: e.OPSSPINE_WEBHOOK_URL,
    notifyMode: e.OPSSPINE_NOTIFY_MODE,
  };
}
