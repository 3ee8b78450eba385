import { type RedisStores, redisStores } from "@ops/adapter-redis";
import { FeatureFlagController } from "@ops/flags";
import { createSignalRecorder, IncidentManager, runAuthOpsSpine } from "@ops/incidents";
import { describeLibraryHostileValues } from "@ops/testkit";
import { afterAll, describe } from "vitest";
import { deletePrefix, redisTargets } from "./targets.js";

// The library (recorder, FeatureFlagController, IncidentManager) on a single server and on a Redis Cluster.
for (const target of await redisTargets()) {
  const prefix = `opstest-hostile-${process.pid}-${Date.now().toString(36)}`;
  const redis = target.up ? target.client() : null!;
  const opened: RedisStores[] = [];
  afterAll(async () => {
    if (!target.up) return;
    for (const s of opened) await s.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });
  describe.skipIf(!target.up)(`@ops/adapter-redis library hostile values (${target.name})`, () => {
    describeLibraryHostileValues({
      name: `redis ${target.name}`,
      stores: () => {
        const s = redisStores(redis, { prefix });
        opened.push(s);
        return s;
      },
      signals: { createSignalRecorder },
      flags: { FeatureFlagController },
      incidents: { IncidentManager, runAuthOpsSpine },
    });
  });
}
