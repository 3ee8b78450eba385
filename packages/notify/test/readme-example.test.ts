import { afterAll, beforeAll, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { createNotifierFromEnv } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer().start();
  // The README's environment, with the Slack URL pointed at a loopback server.
  Object.assign(process.env, {
    APP_NAME: "shop",
    OPSSPINE_NOTIFY_MODE: "webhook",
    OPSSPINE_WEBHOOK_URL: `${server.url}/services/T0/B0/readme`,
    OPSSPINE_WEBHOOK_FORMAT: "slack",
  });
});
afterAll(() => server.close());

it("the README's opening example works as written", async () => {
  const { notifier, worker } = createNotifierFromEnv({ store: memoryStores().outbox });
  worker.start();

  await notifier.notify({ subject: "Failed logins spike", body: "150 in 1h", severity: "high", dedupeKey: "inc_42" });
  await notifier.notify({ subject: "Failed logins spike", body: "resolved", severity: "high", dedupeKey: "inc_42", action: "resolve" });

  for (let i = 0; i < 600 && server.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await worker.stop();
  const texts = server.requests.map((r) => (JSON.parse(r.body) as { text: string }).text).sort();
  expect(texts).toEqual([":red_circle: [shop] [HIGH] Failed logins spike", ":white_check_mark: [shop] [RESOLVED] Failed logins spike"]);
});
