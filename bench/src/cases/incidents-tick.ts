// One runtime tick (flush -> detect -> raise -> respond -> notify) over the memory adapter, with
// 100 active tenants, 8 rules each (2 scopes incl. global): the cost of the loop itself.
import { memoryStores } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";
import { createOpsRuntime } from "@ops/incidents";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const tick: BenchCase = {
  name: "incidents: runtime tick",
  async run({ quick }) {
    const tenants = quick ? 20 : 100;
    const rounds = quick ? 10 : 30;
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const runtime = createOpsRuntime({
      stores: memoryStores({ clock }),
      clock,
      mitigation: { mode: "suggest" },
      notifier: { notify: async () => {} },
    });
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let t = 0; t < tenants; t++)
        for (let i = 0; i < 30; i++)
          runtime.recordAuthEvent({
            type: t % 10 === 0 ? "LOGIN_FAILED" : "LOGIN_SUCCEEDED",
            tenantId: `t${t}`,
            userId: `u${i}`,
            ip: "10.0.0.1",
          });
      clock.advance(60_000);
      const t0 = process.hrtime.bigint();
      await runtime.tick();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const row: BenchRow = {
      group: "incidents: runtime tick",
      subject: "@ops/incidents tick (memory adapter)",
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      ours: true,
      note: `${tenants} active tenants x 8 rules + global scope, ${tenants * 30} signals per minute; 10% of tenants under attack`,
    };
    return [row];
  },
};

export default tick;
