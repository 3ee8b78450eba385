import { expect, it } from "vitest";
import { jsonLogger, logChannel } from "../src/index.js";

it("the log channel writes one structured JSON line per notification", async () => {
  const lines: string[] = [];
  const ch = logChannel({ appName: "shop", write: (l) => lines.push(l) });
  await ch.send(
    {
      id: "ntf_1",
      subject: "Disk 90%",
      body: "db-1",
      severity: "medium",
      tenantId: "acme",
      type: "DISK",
      createdAt: "2030-01-01T00:00:00.000Z",
    },
    { idempotencyKey: "k1", attempt: 1 },
  );
  await ch.send({ subject: "Site down", body: "", severity: "critical", action: "resolve", dedupeKey: "inc-1" });
  expect(lines.length).toBe(2);
  expect(JSON.parse(lines[0]!)).toEqual({
    level: "warn",
    msg: "admin_notification",
    app: "shop",
    id: "ntf_1",
    action: "trigger",
    severity: "medium",
    subject: "Disk 90%",
    body: "db-1",
    type: "DISK",
    tenantId: "acme",
    createdAt: "2030-01-01T00:00:00.000Z",
    idempotencyKey: "k1",
  });
  expect(JSON.parse(lines[1]!)).toMatchObject({ level: "error", action: "resolve", dedupeKey: "inc-1" });
});

it("jsonLogger writes warnings and errors as JSON lines, info only when verbose", () => {
  const lines: string[] = [];
  const quiet = jsonLogger({ write: (l) => lines.push(l) });
  quiet.info("notify.delivered", { messageId: "m1" });
  quiet.warn("notify.retry", { messageId: "m1" });
  expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
    { level: "warn", event: "notify.retry", messageId: "m1", pkg: "@ops/notify" },
  ]);
  jsonLogger({ verbose: true, write: (l) => lines.push(l) }).info("notify.delivered", {});
  expect(lines.length).toBe(2);
});
