// Erasure on Redis (what `forgetSubject` of @ops/audit asks of the auth event, incident and outbox
// stores): afterwards no key under the prefix, of any type, holds the person's name, e-mail,
// phone, IP or user agent, on a single server and on a Cluster. Dead letters included.
import { afterAll, describe, expect, it } from "vitest";
import type { ForgetSubjectInput } from "@ops/core";
import { redisStores, type RedisStores } from "@ops/adapter-redis";
import { scanKeys, type RedisClient } from "../src/client.js";
import { deletePrefix, redisTargets } from "./targets.js";

const ADA = {
  id: "patient_42",
  name: "Ada Lovelace",
  email: "ada.lovelace@example.org",
  phone: "+44 20 7946 0958",
  ip: "203.0.113.42",
  ua: "Mozilla/5.0 (X11) AdaBrowser/1.0",
};
const PERSONAL = [ADA.name, ADA.email, ADA.phone, ADA.ip, ADA.ua];

/** Every key name and value under the prefix as text, whatever the key type (keys containing `skip` left out). */
async function dump(redis: RedisClient, prefix: string, skip = "\u0000"): Promise<string> {
  let out = "";
  for (const key of await scanKeys(redis, `${prefix}:*`)) {
    if (key.includes(skip)) continue;
    out += `${key} `;
    const type = await redis.type(key);
    if (type === "string") out += await redis.get(key);
    else if (type === "hash") out += JSON.stringify(await redis.hgetall(key));
    else if (type === "zset") out += JSON.stringify(await redis.zrange(key, 0, -1));
    else if (type === "set") out += JSON.stringify(await redis.smembers(key));
    else if (type === "list") out += JSON.stringify(await redis.lrange(key, 0, -1));
    else if (type === "stream") out += JSON.stringify(await redis.xrange(key, "-", "+"));
    else throw new Error(`unexpected key type ${type} at ${key}`);
    out += "\n";
  }
  return out;
}

for (const target of await redisTargets()) {
  const prefix = `opstest-erase-${process.pid}-${Date.now().toString(36)}`;
  const redis = target.up ? target.client() : null!;
  const opened: RedisStores[] = [];
  afterAll(async () => {
    if (!target.up) return;
    await Promise.all(opened.map((s) => s.close()));
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  describe.skipIf(!target.up)(`adapter-redis erasure (${target.name})`, () => {
    it("auth events, incidents, outbox (dead letters too): nothing readable left; other tenants untouched", async () => {
      const stores = redisStores(redis, { prefix });
      opened.push(stores);
      const t = "clinic";
      const other = "other-clinic";
      await stores.authEvents.append({
        events: [
          {
            id: "ev1",
            type: "LOGIN_FAILED",
            occurredAt: "2026-03-01T10:00:00.000Z",
            tenantId: t,
            userId: ADA.id,
            ip: ADA.ip,
            meta: { email: ADA.email, userAgent: ADA.ua },
          },
        ],
      });
      await stores.incidents.create({
        record: {
          id: `inc1-${prefix}`,
          tenantId: t,
          fingerprint: "bf",
          type: "BRUTE_FORCE",
          severity: "high",
          state: "open",
          title: `Brute force from ${ADA.ip}`,
          openedAt: "2026-03-01T10:00:00.000Z",
          updatedAt: "2026-03-01T10:00:00.000Z",
          data: { offenders: [{ userId: ADA.id, ip: ADA.ip, phone: ADA.phone }] },
        },
      });
      const msg = (id: string, tenantId: string, text: string) => ({
        id: `${id}-${prefix}`,
        tenantId,
        channel: "email",
        idempotencyKey: `k-${id}-${prefix}`,
        createdAt: "2026-03-01T10:00:00.000Z",
        payload: { text, userId: ADA.id },
      });
      await stores.outbox.enqueue({ message: msg("m1", t, `User ${ADA.name} (${ADA.email}) locked out`) });
      await stores.outbox.enqueue({ message: msg("m2", t, `Call ${ADA.phone}`) });
      const kept = await stores.outbox.enqueue({ message: msg("m3", other, `User ${ADA.name} elsewhere`) });
      // m2 fails for good: its error, naming the person, is in the message and the dead-letter stream.
      const now = "2026-03-01T10:00:01.000Z";
      const claimed = await stores.outbox.claim({ workerId: "w", limit: 10, leaseMs: 60_000, now });
      const m2 = claimed.find((m) => m.id === `m2-${prefix}`)!;
      expect(m2).toBeDefined();
      await stores.outbox.fail({ id: m2.id, workerId: "w", error: `SMTP 550 no mailbox ${ADA.email}`, now, final: "dead" });
      expect(await dump(redis, prefix)).toContain(ADA.email);
      const keptBefore = await stores.outbox.get({ id: kept.id });

      const input: ForgetSubjectInput = { tenantId: t, subjectId: ADA.id, identifiers: PERSONAL, pseudonym: "forgotten_x1" };
      expect(await stores.authEvents.forgetSubject(input)).toEqual({ records: 1 });
      expect(await stores.incidents.forgetSubject(input)).toEqual({ records: 1 });
      expect(await stores.outbox.forgetSubject(input)).toEqual({ records: 2 });

      // The other tenant's message is untouched; nothing else names the person.
      expect(await stores.outbox.get({ id: kept.id })).toEqual(keptBefore);
      const text = await dump(redis, prefix, `m:${kept.id}`);
      expect(PERSONAL.filter((s) => text.toLowerCase().includes(s.toLowerCase()))).toEqual([]);
      expect(text).not.toContain(ADA.id);
      expect(await stores.outbox.get({ id: m2.id })).toMatchObject({ status: "dead", lastError: "SMTP 550 no mailbox [ERASED]" });
      // A second run finds nothing left to change.
      expect(await stores.outbox.forgetSubject(input)).toEqual({ records: 0 });
      expect(await stores.incidents.forgetSubject(input)).toEqual({ records: 0 });
    });
  });
}
