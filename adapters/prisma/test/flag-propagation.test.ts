import type { FlagChange } from "@ops/core";
import { randomKey, randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prismaStores } from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: flag changes reach other processes by LISTEN/NOTIFY (listenUrl)", () => {
  let db: TestDatabase;
  let writer: TestPrismaClient;
  let reader: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("notify");
    writer = await db.client();
    reader = await db.client();
  });
  afterAll(async () => db?.drop());

  it("a write through one client is heard by the other's subscribers; close() ends the listening connection", async () => {
    const url = new URL(testPgUrl());
    url.searchParams.set("options", `-c search_path=${db.schema}`);
    // Same schema for both sides: the channel is derived from the table schema.
    const listening = prismaStores(reader, { schema: db.schema, listenUrl: url.toString() });
    const writing = prismaStores(writer, { schema: db.schema });
    expect(listening.capabilities.pubsub).toBe(true);
    expect(writing.capabilities.pubsub).toBe(false);
    expect(writing.flags.subscribe).toBeUndefined();
    const seen: FlagChange[] = [];
    listening.flags.subscribe!((c) => seen.push(c));
    // The first write through the listening store waits until LISTEN is active.
    const warm = { env: "prod", key: randomKey("warm"), tenantId: null };
    await listening.flags.put({ ...warm, config: 0, expectedVersion: null, actor: "t" });
    const at = { env: "prod", key: randomKey("k"), tenantId: randomTenant() };
    await writing.flags.put({ ...at, config: { on: true }, expectedVersion: null, actor: "t" });
    for (let i = 0; i < 100 && !seen.some((c) => c.key === at.key); i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContainEqual({ ...at, version: 1 });
    const listeners = async () =>
      (
        await db.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1", [
          `%LISTEN "ops_flag_changes_${db.schema}"%`,
        ])
      ).rows[0].n as number;
    expect(await listeners()).toBe(1);
    await listening.close();
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      left = await listeners();
      if (left > 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(left).toBe(0);
    await writing.close();
  });
});
