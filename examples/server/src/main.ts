// `pnpm --filter @ops/example-server start`: the service on HOST:PORT until SIGTERM/SIGINT.
import { isOpsError } from "@ops/core";
import { loadServiceConfig } from "./config.js";
import { errorFields, jsonLogger } from "./logger.js";
import { createService } from "./service.js";

const logger = jsonLogger();

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const service = await createService(config, { logger });
  const url = await service.listen();
  logger.info("listening", { url, env: config.env, storage: service.storage.describe, notifications: service.channels, mitigation: config.mitigation });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: give up on the graceful path
    stopping = true;
    logger.info("shutting_down", { signal });
    // Flushes buffered signals and audit entries, then closes the database.
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error("shutdown_failed", errorFields(err));
        process.exit(1);
      },
    );
    setTimeout(() => process.exit(1), 25_000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  // Config errors name the variable and what was expected; never a stack trace for those.
  if (isOpsError(err)) console.error(err.message);
  else logger.error("startup_failed", errorFields(err));
  process.exit(1);
});
