import { describe, expect, it } from "vitest";
import { ManualClock, ValidationError } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, logChannel, type OutboxWorkerOptions } from "../src/index.js";

describe("createOutboxWorker options", () => {
  const store = new MemoryOutboxStore();
  const channels = [logChannel({ write: () => {} })];
  const bad: Array<[Partial<OutboxWorkerOptions>, string]> = [
    [{ batchSize: 0 }, "batchSize"],
    [{ batchSize: 1.5 }, "batchSize"],
    [{ maxAttempts: 0 }, "maxAttempts"],
    [{ leaseMs: Number.NaN }, "leaseMs"],
    [{ timeoutMs: -1 }, "timeoutMs"],
    [{ maxAgeMs: 0 }, "maxAgeMs"],
    [{ pollMs: 0 }, "pollMs"],
    [{ backoff: { baseMs: -5 } }, "backoff.baseMs"],
  ];
  for (const [opts, field] of bad)
    it(`rejects ${JSON.stringify(opts)} with a ValidationError naming ${field}`, () => {
      let caught: unknown;
      try {
        createOutboxWorker({ store, channels, ...opts });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).message).toMatch(/^\[ops\/notify\]/);
      expect((caught as ValidationError).message).toContain(field);
    });

  it("rejects two channels with one name (one would never be sent on)", () => {
    expect(() => createOutboxWorker({ store, channels: [logChannel({ write: () => {} }), logChannel({ write: () => {} })] })).toThrow(
      ValidationError,
    );
  });

  it("a valid small batchSize still delivers", async () => {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const s = new MemoryOutboxStore();
    const lines: string[] = [];
    const ch = [logChannel({ write: (l) => lines.push(l) })];
    await createNotifier({ store: s, channels: ch, clock }).notify({ subject: "x", body: "y", severity: "high" });
    const w = createOutboxWorker({ store: s, channels: ch, clock, batchSize: 1 });
    expect((await w.runOnce()).delivered).toBe(1);
    expect(lines).toHaveLength(1);
  });
});

describe("createNotifier options", () => {
  const store = new MemoryOutboxStore();
  const bad: Array<[Record<string, unknown>, string]> = [
    [{}, "store"],
    [{ store }, "channels"],
    [{ store, channels: [logChannel()], routes: "x" }, "routes"],
    [{ channels: [logChannel()] }, "store"],
    [{ store, channels: [{}] }, "channels[0].name"],
    [{ store, channels: [logChannel()], defaultChannels: "log" }, "defaultChannels"],
  ];
  for (const [opts, field] of bad)
    it(`rejects ${Object.keys(opts).join("+") || "{}"} (${field}) with a ValidationError naming it, not a TypeError`, () => {
      let caught: unknown;
      try {
        createNotifier(opts as never);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).message).toMatch(/^\[ops\/notify\]/);
      expect((caught as ValidationError).message).toContain(field);
    });
});
