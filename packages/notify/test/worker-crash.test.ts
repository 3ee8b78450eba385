import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type OutboxStore } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, webhookChannel } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./helpers/worker-child.ts", import.meta.url));
const T0 = "2030-01-01T00:00:00.000Z";

let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer().start();
});
afterAll(() => server.close());

async function waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a worker process killed mid-delivery", () => {
  it("loses nothing: the message is delivered by another worker once the lease expires", async () => {
    const store = new MemoryOutboxStore();
    const channels = [webhookChannel({ name: "hook", url: `${server.url}/crash` })];
    const notifier = createNotifier({ store, channels, clock: new ManualClock(T0) });
    const id = (await notifier.enqueue({ subject: "DB down", body: "b", severity: "critical" })).messages[0]!.messageId;
    server.queue("hang");

    const child = spawn(
      process.execPath,
      ["--conditions=@ops/source", "--import", "tsx", CHILD, `${server.url}/crash`, T0, "child-worker"],
      {
        cwd: ROOT,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    // Serve the child's store calls from our store.
    child.on("message", (msg: { id: number; method: keyof OutboxStore; input: unknown }) => {
      const fn = store[msg.method] as (input: unknown) => Promise<unknown>;
      fn.call(store, msg.input).then(
        (value) => child.connected && child.send({ id: msg.id, value }),
        (err: Error) => child.connected && child.send({ id: msg.id, error: { name: err.name, message: err.message } }),
      );
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));

    // The child claimed the message and is inside the HTTP request when we kill it.
    await waitFor(() => server.requests.filter((r) => r.path === "/crash").length === 1, "the child's request");
    expect(await store.get({ id })).toMatchObject({ status: "pending", leaseOwner: "child-worker", attempts: 1 });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    server.releaseHung(200); // the receiver may or may not have acted on it: at-least-once

    const clock = new ManualClock(T0);
    const rescuer = createOutboxWorker({ store, channels, clock, logger: { info() {}, warn() {}, error() {} } });
    clock.advance(119_999);
    expect((await rescuer.runOnce()).claimed).toBe(0); // the dead worker's lease still holds
    clock.advance(1);
    expect((await rescuer.runOnce()).delivered).toBe(1);
    expect(await store.get({ id })).toMatchObject({ status: "delivered", attempts: 2, leaseOwner: null });
    const hits = server.requests.filter((r) => r.path === "/crash");
    expect(hits.length).toBe(2);
    expect(hits[0]!.headers["x-ops-idempotency-key"]).toBe(hits[1]!.headers["x-ops-idempotency-key"]);
  }, 60_000);
});
