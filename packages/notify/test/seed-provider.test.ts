import { afterAll, beforeAll, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, namedChannel, type AdminNotification } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer({ status: 201, body: "{}" }).start();
});
afterAll(() => server.close());

// A custom provider class as a user writes it (only the host is the loopback server).
class PagerDutyProvider {
  constructor(private apiKey: string) {}

  async send(n: AdminNotification) {
    await fetch(`${server.url}/incidents`, {
      method: "POST",
      headers: { Authorization: `Token token=${this.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ incident: { type: "incident", title: n.subject, body: { type: "incident_body", details: n.body } } }),
    });
  }
}

it("a seed-style provider class plugs in as a channel through namedChannel", async () => {
  const clock = new ManualClock("2030-01-01T00:00:00.000Z");
  const store = new MemoryOutboxStore();
  const channels = [namedChannel("pd-legacy", new PagerDutyProvider("legacy-api-key"), { secrets: ["legacy-api-key"] })];
  const notifier = createNotifier({ store, channels, clock });
  const worker = createOutboxWorker({ store, channels, clock, logger: { info() {}, warn() {}, error() {} } });
  await notifier.notify({ subject: "Failed logins spike", body: "150 in 1h", severity: "high" });
  expect((await worker.runOnce()).delivered).toBe(1);
  const req = server.requests.at(-1)!;
  expect(req.headers["authorization"]).toBe("Token token=legacy-api-key");
  expect(JSON.parse(req.body)).toEqual({
    incident: { type: "incident", title: "Failed logins spike", body: { type: "incident_body", details: "150 in 1h" } },
  });
});
