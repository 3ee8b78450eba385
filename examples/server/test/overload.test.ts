import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireService } from "@ops/testkit";
import { eventually, freshDatabase, startTestService, type TestService } from "./support.js";

// Under overload the service sheds with 503 + Retry-After and loses nothing it acknowledged:
// counted from outside, the signals stored equal the signals answered 202, exactly.
const pgUp = await requireService("postgres");
const backends: Array<[string, boolean]> = [["PGlite", false]];
if (pgUp) backends.push(["PostgreSQL", true]);

describe.each(backends)("signal ingest under overload (%s)", (_name, onPg) => {
  let t: TestService;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  const tenant = `ovl_${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    if (onPg) db = await freshDatabase();
    t = await startTestService({ ...(db ? { DATABASE_URL: db.url } : {}), OPS_SIGNAL_BUFFER: "250" });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function storedCount(): Promise<number> {
    let n = 0;
    let cursor: string | null = null;
    do {
      const page = await t.call("GET", `/api/signals?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
        tenant,
        role: "",
      });
      expect(page.status).toBe(200);
      n += page.json.signals.length;
      cursor = page.json.nextCursor;
    } while (cursor);
    return n;
  }

  it("answers 202 only for what it keeps, 503 + Retry-After for the rest; stored = acknowledged", async () => {
    let accepted = 0;
    let refused = 0;
    const send = async (i: number) => {
      const events = Array.from({ length: 200 }, (_, j) => ({ type: "LOGIN_FAILED", userId: `u${i}_${j}`, ip: "198.51.100.7" }));
      const r = await t.call("POST", "/api/signals", { tenant, role: "", body: { events } });
      if (r.status === 202) {
        expect(r.json.accepted).toBe(200);
        accepted += 200;
      } else {
        expect(r.status).toBe(503);
        expect(r.json.error).toBe("overloaded");
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        refused += 200;
      }
    };
    // 40 batches of 200 at once: 8,000 signals against a buffer of 250. A 202 waits for the flush of
    // its batch (which starts at once), so the buffer only fills when batches overlap: with 200 a
    // batch, any two at once do.
    await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
    // PostgreSQL serves the burst concurrently: batches overlap and the buffer fills. PGlite runs
    // the database on the event loop, so each batch's flush can end before the next request is
    // read, and the burst may be taken whole: nothing to shed there, and still nothing lost.
    if (onPg) expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    const stored = await eventually("every acknowledged signal to be stored", async () => {
      const n = await storedCount();
      return n >= accepted ? n : null;
    });
    expect(stored).toBe(accepted);
    // After the flush there is room again.
    const again = await t.call("POST", "/api/signals", { tenant, role: "", body: { type: "LOGIN_FAILED", userId: "late" } });
    expect(again.status).toBe(202);
  });
});
