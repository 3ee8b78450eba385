import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { createAuditLog, type AuditLog } from "@ops/audit";
import { FeatureFlagController } from "@ops/flags";
import { bearerToken, createFetchHandler, createHealth, type Health } from "@ops/health";
import { createOpsRuntime, type OpsRuntime } from "@ops/incidents";
import {
  channelsFromEnv,
  createNotifier,
  createOutboxWorker,
  loadNotifyEnv,
  logChannel,
  type OutboxNotifier,
  type OutboxWorker,
  type Route,
} from "@ops/notify";
import { createConsole, honoConsole, type OpsConsole } from "@ops/console";
import { createAuthorize } from "./auth.js";
import type { ServiceConfig } from "./config.js";
import { errorResponse, MAX_BODY_BYTES, type AppEnv } from "./http.js";
import { errorFields, jsonLogger, type ServiceLogger } from "./logger.js";
import { signalRoutes } from "./routes/signals.js";
import { openStorage, type ServiceStorage } from "./storage.js";

export interface Service {
  app: Hono<AppEnv>;
  config: ServiceConfig;
  storage: ServiceStorage;
  audit: AuditLog<string>;
  flags: FeatureFlagController;
  runtime: OpsRuntime;
  notifier: OutboxNotifier;
  worker: OutboxWorker;
  health: Health;
  /** The operations console mounted at /ops. */
  console: OpsConsole;
  /** How callers are authenticated: a signed JWT, or headers set by a trusted gateway. */
  authMode: "jwt" | "trusted-header";
  /** Which notification channels are on (names only). */
  channels: string[];
  /** Listens on `config.host:config.port` (0: any free port); resolves with the base URL. */
  listen(): Promise<string>;
  /** The HTTP server once listening. */
  readonly server: ServerType | undefined;
  /** Stops taking requests, stops the runtime and worker, flushes, closes the stores. Idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: ServiceLogger;
}

/**
 * Builds the whole service over the configured storage: audit log, flag controller, ops runtime
 * (ticking), notifier and outbox worker (log channel unless OPSSPINE_NOTIFY_MODE says otherwise),
 * health probes and the HTTP API. Nothing listens until `listen()`.
 * @throws ConfigError for bad OPSSPINE_* variables; database errors while opening storage.
 */
export async function createService(config: ServiceConfig, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? jsonLogger();
  // Validate every variable before opening anything.
  const notifyEnv = loadNotifyEnv(config.rawEnv);
  const storage = await openStorage(config);
  const audit = createAuditLog({ store: storage.audit, keys: storage.auditKeys, env: config.env });
  const flags = new FeatureFlagController(storage.flags, config.env, {
    audit,
    // Each flag write commits its FLAG_CHANGE with the flag (same SQL statement); a relay appends it.
    ...(storage.effects && storage.flags.capabilities.effects ? { effects: storage.effects } : {}),
    onError: (err, info) => logger.warn("flags_error", { ...info, ...errorFields(err) }),
  });
  await flags.ready();

  const channels = channelsFromEnv(notifyEnv).map((ch) =>
    ch.name === "log" ? logChannel({ appName: notifyEnv.appName, write: (line) => logger.notification(line) }) : ch,
  );
  const main = channels[0]!.name;
  const routes: Route[] = notifyEnv.pagerDutyRoutingKey
    ? [{ minSeverity: "high", channels: [main, "pagerduty"] }, { channels: [main] }]
    : [];
  const notifier = createNotifier({ store: storage.outbox, channels, routes, audit });
  const worker = createOutboxWorker({
    store: storage.outbox,
    channels,
    audit,
    pollMs: config.notifyPollMs,
    secrets: [notifyEnv.webhookUrl, notifyEnv.webhookSecret, notifyEnv.smtp?.pass, notifyEnv.pagerDutyRoutingKey].filter(
      (s): s is string => !!s,
    ),
  });

  const runtime = createOpsRuntime({
    stores: {
      incidents: storage.incidents,
      counters: storage.counters,
      authEvents: storage.authEvents,
      ...(storage.effects ? { effects: storage.effects } : {}),
    },
    flags,
    audit,
    notifier,
    mitigation: { mode: config.mitigation },
    timers: { groupWaitMs: Math.max(config.groupWaitMs, 1) },
    intervalMs: config.tickMs,
    bucketMs: config.bucketMs,
    // Bounded, and never silently: the signal route admits a batch only when it fits (else 503).
    // Flushed twice a second, so a signal is stored within a second of its 202 even when the write takes a while.
    signals: {
      maxBuffer: config.signalBuffer,
      flushIntervalMs: 500,
      onDrop: (n) => logger.warn("signal_details_dropped", { count: n }),
    },
    onError: (err) => logger.error("runtime_error", errorFields(err)),
  });

  const health = createHealth({
    env: config.env,
    service: { serviceId: "ops-example-server" },
    checks: storage.checks,
    details: config.healthToken ? bearerToken(config.healthToken) : false,
  });
  const healthHandler = createFetchHandler(health);

  const auth = createAuthorize(config);
  const opsConsole = createConsole({
    authorize: auth.authorize,
    basePath: "/ops",
    flags: { controller: flags, store: storage.flags },
    incidents: { runtime, store: storage.incidents },
    audit,
    notifier,
    health,
    // The app's own limit: a long value reaches validation and is refused naming its field (400), not 413.
    maxBodyBytes: MAX_BODY_BYTES,
    logger: { warn: (msg, f) => logger.warn(msg, f ?? {}), error: (msg, f) => logger.error(msg, f ?? {}) },
  });

  const app = new Hono<AppEnv>();
  app.onError((err, c) => errorResponse(c, err, logger));
  app.notFound((c) => c.json({ ok: false, error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.use("*", async (c, next) => (await healthHandler(c.req.raw)) ?? next());
  // The app's own routes (signals) take the same principals as the console: nobody, no access.
  app.use("/api/*", async (c, next) => {
    const principal = await auth.authorize(c.req.raw);
    if (!principal) return c.json({ ok: false, error: "unauthenticated", message: "authentication required" }, 401);
    c.set("tenant", principal.tenantId);
    await next();
  });
  honoConsole(app, opsConsole);
  app.get("/", (c) =>
    c.json({
      ok: true,
      service: "ops-example-server",
      env: config.env,
      storage: storage.describe,
      notifications: channels.map((ch) => ch.name),
      console: "/ops/",
      auth: auth.mode,
      docs: "examples/server/README.md",
    }),
  );
  signalRoutes(app, {
    runtime,
    store: storage.authEvents,
    onUnstored: (err) => logger.warn("signals_not_stored", errorFields(err)),
  });

  runtime.start();
  worker.start();

  let server: ServerType | undefined;
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    storage,
    audit,
    flags,
    runtime,
    notifier,
    worker,
    health,
    console: opsConsole,
    authMode: auth.mode,
    channels: channels.map((ch) => ch.name),
    get server() {
      return server;
    },
    listen() {
      return new Promise((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
          const host = info.address.includes(":") ? `[${info.address}]` : info.address;
          resolve(`http://${host}:${info.port}`);
        });
        s.once("error", reject);
        server = s;
      });
    },
    close() {
      closing ??= (async () => {
        health.beginShutdown();
        if (server) await new Promise<void>((r) => server!.close(() => r()));
        await runtime.stop().catch((err: unknown) => logger.error("runtime_stop_failed", errorFields(err)));
        await worker.stop();
        await flags.close();
        await audit.close();
        health.close();
        await storage.close();
      })();
      return closing;
    },
  };
}
