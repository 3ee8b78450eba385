// The memory incident store at 10,000 incidents: create and findActive must not walk every record.
// Compares the cost per call around the 100th and around the 10,000th incident (target: about 1x).
import { MemoryIncidentStore } from "@ops/adapter-memory";
import type { IncidentRecord } from "@ops/core";
import type { BenchCase, BenchRow } from "../types.js";

const rec = (i: number): Omit<IncidentRecord, "version"> => {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  return {
    id: `inc_${i}`,
    tenantId: `t${i % 500}`,
    type: "T",
    state: "open",
    severity: "high",
    title: "t",
    fingerprint: `fp${i}`,
    openedAt: at,
    updatedAt: at,
    data: {},
  } as Omit<IncidentRecord, "version">;
};

const bench: BenchCase = {
  name: "memory incident store at 10,000 incidents",
  async run({ quick }) {
    const total = quick ? 5_000 : 10_000;
    const store = new MemoryIncidentStore();
    const window = 100;
    const rate = async (from: number) => {
      const t0 = process.hrtime.bigint();
      for (let i = from; i < from + window; i++) {
        await store.create({ record: rec(i) });
        await store.findActive({ tenantId: `t${i % 500}`, fingerprint: `fp${i}` });
      }
      return window / (Number(process.hrtime.bigint() - t0) / 1e9);
    };
    for (let i = 0; i < window; i++) await store.create({ record: rec(i) });
    const early = await rate(window);
    for (let i = 2 * window; i < total; i++) await store.create({ record: rec(i) });
    const late = await rate(total);
    const group = "memory incident store: create + findActive per call";
    const rows: BenchRow[] = [
      {
        group,
        subject: `around the ${total.toLocaleString("en-US")}th incident`,
        opsPerSec: late,
        ours: true,
        note: "target: about the rate at the 100th (no call walks every incident)",
      },
      { group, subject: "around the 100th incident", opsPerSec: early },
    ];
    return rows;
  },
};

export default bench;
