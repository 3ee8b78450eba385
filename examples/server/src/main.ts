// `pnpm --filter @ops/example-server start`: the service on HOST:PORT until SIGTERM/SIGINT.
import { isOpsError } from "@ops/core";
import { gracefulShutdown } from "@ops/health";
import { loadServiceConfig } from "./config.js";
import { errorFields, jsonLogger } from "./logger.js";
import { createService } from "./service.js";

const logger = jsonLogger();

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const service = await createService(config, { logger });
  const url = await service.listen();
  logger.info("listening", {
    url,
    console: `${url}/ops/`,
    auth: service.authMode,
    env: config.env,
    storage: service.storage.describe,
    notifications: service.channels,
    mitigation: config.mitigation,
  });
  if (service.authMode === "trusted-header")
    logger.warn("auth_trusted_header", {
      message:
        "no OPS_TENANT_JWT_SECRET: callers are whoever the x-ops-actor / x-tenant-id headers say; only a trusted gateway may reach this service",
    });
  // SIGTERM/SIGINT: readiness fails at once, requests are served for OPS_DRAIN_MS while load
  // balancers stop routing here, then the server closes and the service flushes buffered
  // signals and audit entries and closes the database; exit 0, or 1 if closing failed.
  gracefulShutdown(service.health, {
    servers: service.server ? [service.server] : [],
    closers: [{ name: "ops-example-server", close: () => service.close() }],
    drainDelayMs: config.drainMs,
    log: (line) => logger.info("shutdown", { line }),
  });
}

main().catch((err: unknown) => {
  // Config errors name the variable and what was expected; never a stack trace for those.
  if (isOpsError(err)) console.error(err.message);
  else logger.error("startup_failed", errorFields(err));
  process.exit(1);
});
