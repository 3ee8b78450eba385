import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError, type SubjectKey } from "@ops/core";
import { concurrently, randomTenant, requireService } from "@ops/testkit";
import { PrismaSubjectKeyStore } from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: SubjectKeyStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  let store: PrismaSubjectKeyStore;
  beforeAll(async () => {
    db = await createTestDatabase("keys");
    prisma = await db.client();
    store = new PrismaSubjectKeyStore(prisma);
  });
  afterAll(async () => db?.drop());

  let n = 0;
  const candidate = (tenantId: string | null, subjectId: string): SubjectKey => ({
    keyId: `key-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`,
    tenantId,
    subjectId,
    key: new Uint8Array(randomBytes(32)),
    createdAt: "2026-01-02T03:04:05.678Z",
  });

  it("stores the key bytes exactly and reads them back by id, in its tenant only", async () => {
    const t = randomTenant();
    const c = candidate(t, "user-1");
    expect(await store.getOrCreate({ candidate: c })).toEqual(c);
    expect(await store.get({ tenantId: t, keyId: c.keyId })).toEqual(c);
    expect(await store.get({ tenantId: randomTenant(), keyId: c.keyId })).toBeNull();
    const { rows } = await db.pool.query("SELECT key FROM ops_audit_subject_keys WHERE key_id = $1", [c.keyId]);
    expect(new Uint8Array(rows[0].key)).toEqual(c.key);
  });

  it("under 20 concurrent getOrCreate calls for one subject, one candidate is stored and everyone gets it", async () => {
    const t = randomTenant();
    const { fulfilled, rejected } = await concurrently(20, () => store.getOrCreate({ candidate: candidate(t, "racer") }));
    expect(rejected).toEqual([]);
    const ids = new Set(fulfilled.map((k) => k.keyId));
    expect(ids.size).toBe(1);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM ops_audit_subject_keys WHERE tenant_id = $1", [t]);
    expect(rows[0].n).toBe(1);
  });

  it("destroy really deletes the subject's keys (global scope too) and is idempotent", async () => {
    const c = candidate(null, `global-subject-${n}`);
    await store.getOrCreate({ candidate: c });
    expect(await store.destroy({ tenantId: null, subjectId: c.subjectId })).toBe(1);
    expect(await store.destroy({ tenantId: null, subjectId: c.subjectId })).toBe(0);
    expect(await store.get({ tenantId: null, keyId: c.keyId })).toBeNull();
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM ops_audit_subject_keys WHERE key_id = $1", [c.keyId]);
    expect(rows[0].n).toBe(0);
    // A new key after destroy has a new id.
    const next = candidate(null, c.subjectId);
    expect((await store.getOrCreate({ candidate: next })).keyId).toBe(next.keyId);
  });

  it("rejects a candidate without 32 key bytes and stores nothing", async () => {
    const t = randomTenant();
    const bad = { ...candidate(t, "short"), key: new Uint8Array(16) };
    await expect(store.getOrCreate({ candidate: bad })).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get({ tenantId: t, keyId: bad.keyId })).toBeNull();
  });
});
