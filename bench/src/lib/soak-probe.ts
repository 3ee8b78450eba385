// Preloaded (`--import`) into the example service's own process by the soak case: answers each
// "sample" message on the IPC channel with the process's RSS, its heap after a full GC (`--expose-gc`)
// and the event-loop delay p99 since the previous sample. Measures the service as it runs in
// production (its main.ts), with no change to it.
import { monitorEventLoopDelay } from "node:perf_hooks";

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", (m: unknown) => {
  if (m !== "sample") return;
  gc?.();
  const mem = process.memoryUsage();
  process.send?.({
    rssMb: mem.rss / 1048576,
    heapMb: mem.heapUsed / 1048576,
    externalMb: (mem.external + mem.arrayBuffers) / 1048576,
    eldP99Ms: eld.percentile(99) / 1e6,
    eldMaxMs: eld.max / 1e6,
  });
  eld.reset();
});
