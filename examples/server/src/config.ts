import { fileURLToPath } from "node:url";
import * as z from "zod";
import { ConfigError, EnvironmentSchema, issuesFromZod } from "@ops/core";

/** Where PGlite keeps its files unless `OPS_DATA_DIR` says otherwise (git-ignored). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data/pglite", import.meta.url));

const int = (min: number, max: number, what: string) =>
  z.coerce
    .number({ message: `expected ${what}` })
    .int(`expected ${what}`)
    .min(min, `expected ${what}`)
    .max(max, `expected ${what}`);

const pgUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "expected a postgres:// or postgresql:// URL")
  .refine((v) => URL.canParse(v), "expected a postgres:// or postgresql:// URL");

const EnvSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(0, 65_535, "a port number 0..65535 (0 = any free port)").default(3000),
  OPS_ENV: EnvironmentSchema.default("dev"),
  DATABASE_URL: pgUrl.optional(),
  OPS_DB_DRIVER: z.enum(["drizzle", "prisma"], { message: "expected drizzle or prisma" }).default("drizzle"),
  OPS_DATA_DIR: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
    .refine((v) => URL.canParse(v), "expected a redis:// or rediss:// URL")
    .optional(),
  OPS_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, "expected 1-32 letters, digits, _ or -")
    .default("ops-example"),
  OPS_MITIGATION: z.enum(["off", "suggest", "apply"], { message: "expected off, suggest or apply" }).default("apply"),
  OPS_TICK_MS: int(50, 3_600_000, "milliseconds 50..3600000").default(15_000),
  OPS_BUCKET_MS: int(1_000, 3_600_000, "milliseconds 1000..3600000").default(60_000),
  OPS_GROUP_WAIT_MS: int(0, 3_600_000, "milliseconds 0..3600000").default(30_000),
  OPS_SIGNAL_BUFFER: int(1, 10_000_000, "an integer 1..10000000").default(100_000),
  OPS_NOTIFY_POLL_MS: int(50, 60_000, "milliseconds 50..60000").default(1_000),
  OPS_DRAIN_MS: int(0, 20_000, "milliseconds 0..20000").default(5_000),
  OPS_TENANT_JWT_SECRET: z.string().min(32, "expected a secret of at least 32 characters").optional(),
  HEALTH_TOKEN: z.string().min(16, "expected a token of at least 16 characters").optional(),
});

/** The service's settings (secrets included: never log this object). */
export interface ServiceConfig {
  host: string;
  port: number;
  env: string;
  /** Secret: never log it. */
  databaseUrl: string | undefined;
  dbDriver: "drizzle" | "prisma";
  dataDir: string;
  /** Secret: never log it. */
  redisUrl: string | undefined;
  redisPrefix: string;
  mitigation: "off" | "suggest" | "apply";
  tickMs: number;
  bucketMs: number;
  /** Signal details held for the store at most; beyond it POST /api/signals answers 503 + Retry-After. */
  signalBuffer: number;
  groupWaitMs: number;
  notifyPollMs: number;
  /** After SIGTERM, keep serving this long (readiness already failing) before closing. */
  drainMs: number;
  tenantJwtSecret: string | undefined;
  healthToken: string | undefined;
  /** The raw environment, for @ops/notify's variables (OPSSPINE_*). */
  rawEnv: Record<string, string | undefined>;
}

/**
 * Reads and validates the service's environment variables (empty strings count as unset).
 * @throws ConfigError naming every bad variable, never echoing its value.
 */
export function loadServiceConfig(env: Record<string, string | undefined> = process.env): ServiceConfig {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key]?.trim();
    if (v) picked[key] = v;
  }
  const r = EnvSchema.safeParse(picked);
  if (!r.success) {
    const issues = issuesFromZod(r.error);
    throw new ConfigError(`[ops/example-server] invalid environment: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const e = r.data;
  return {
    host: e.HOST,
    port: e.PORT,
    env: e.OPS_ENV,
    databaseUrl: e.DATABASE_URL,
    dbDriver: e.OPS_DB_DRIVER,
    dataDir: e.OPS_DATA_DIR ?? DEFAULT_DATA_DIR,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.OPS_REDIS_PREFIX,
    mitigation: e.OPS_MITIGATION,
    tickMs: e.OPS_TICK_MS,
    bucketMs: e.OPS_BUCKET_MS,
    signalBuffer: e.OPS_SIGNAL_BUFFER,
    groupWaitMs: e.OPS_GROUP_WAIT_MS,
    notifyPollMs: e.OPS_NOTIFY_POLL_MS,
    drainMs: e.OPS_DRAIN_MS,
    tenantJwtSecret: e.OPS_TENANT_JWT_SECRET,
    healthToken: e.HEALTH_TOKEN,
    rawEnv: env,
  };
}
