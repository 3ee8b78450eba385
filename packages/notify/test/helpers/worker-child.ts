// A worker in its own process. Its OutboxStore is the parent's, reached over the IPC channel,
// so the parent can SIGKILL this process mid-delivery and inspect what the store kept.
import { ConflictError, ManualClock, NotFoundError, type OutboxStore } from "@ops/core";
import { createOutboxWorker, webhookChannel } from "../../src/index.js";

const [url, startIso, workerId] = process.argv.slice(2) as [string, string, string];
let seq = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
process.on("message", (msg: { id: number; value?: unknown; error?: { name: string; message: string } }) => {
  const p = pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  if (!msg.error) p.resolve(msg.value);
  else
    p.reject(
      msg.error.name === "ConflictError"
        ? new ConflictError(msg.error.message)
        : msg.error.name === "NotFoundError"
          ? new NotFoundError(msg.error.message)
          : new Error(msg.error.message),
    );
});
const call = (method: string) => (input: unknown) =>
  new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject });
    process.send!({ id, method, input });
  });
const store = new Proxy({} as OutboxStore, {
  get: (_t, prop) => (prop === "capabilities" ? { transactions: false } : typeof prop === "string" ? call(prop) : undefined),
});
const worker = createOutboxWorker({
  store,
  workerId,
  channels: [webhookChannel({ name: "hook", url, timeoutMs: 60_000 })],
  clock: new ManualClock(startIso),
  leaseMs: 120_000,
  timeoutMs: 60_000,
  logger: { info() {}, warn() {}, error() {} },
});
void worker.runOnce();
