// Time from `setFlag` in this process to the new value being evaluated in other processes, over
// Redis pub/sub. Peers' published figures: LaunchDarkly streaming "typically within 200 ms",
// Unleash polling every 15 s (so ~7.5 s on average).
import { spawn } from "node:child_process";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { FeatureFlagController } from "@ops/flags";
import { redisStores } from "@ops/adapter-redis";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const fixture = join(root, "adapters", "redis", "test", "fixtures", "flag-reader.ts");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");

function redisUp(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

interface Reader {
  seen: Array<{ value: boolean; at: number }>;
  ready: Promise<void>;
  stop(): void;
}

function startReader(url: string, prefix: string, key: string): Reader {
  const child = spawn(process.execPath, [tsx, "--conditions=@ops/source", fixture, url, prefix, key], { cwd: root, stdio: "pipe" });
  const seen: Array<{ value: boolean; at: number }> = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  let buf = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buf.slice(0, i)) as { ready?: boolean; value: boolean; at?: number };
      buf = buf.slice(i + 1);
      if (msg.ready) resolveReady();
      else seen.push({ value: msg.value, at: msg.at! });
    }
  });
  return { seen, ready, stop: () => child.stdin.end() };
}

const bench: BenchCase = {
  name: "flag propagation between processes (Redis pub/sub)",
  async run({ quick }): Promise<BenchRow[]> {
    const url = process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379";
    const group = "flags: setFlag in one process -> evaluated in 3 others";
    if (!(await redisUp(url))) return [{ group, subject: "@ops/adapter-redis", note: "skipped: Redis not reachable", ours: true }];
    const prefix = `opsbench-prop-${process.pid}`;
    const key = "bench_flag";
    const redis = new Redis(url);
    const stores = redisStores(redis, { prefix });
    const writer = new FeatureFlagController(stores.flags, "prod");
    await writer.ready();
    await writer.setFlag({ key, newValue: false, actorUserId: "bench", reason: "init" });
    const readers = [0, 1, 2].map(() => startReader(url, prefix, key));
    await Promise.all(readers.map((r) => r.ready));
    const changes = quick ? 40 : 200;
    const latencies: number[] = [];
    let value = false;
    for (let i = 0; i < changes; i++) {
      value = !value;
      const counts = readers.map((r) => r.seen.length);
      const t0 = performance.timeOrigin + performance.now();
      await writer.setFlag({ key, newValue: value, actorUserId: "bench", reason: `change ${i}` });
      const deadline = Date.now() + 5000;
      while (readers.some((r, j) => r.seen.length <= counts[j]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      for (const [j, r] of readers.entries()) {
        const hit = r.seen.slice(counts[j]!).find((s) => s.value === value);
        latencies.push(hit ? hit.at - t0 : 5000);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    readers.forEach((r) => r.stop());
    await writer.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await stores.close();
    redis.disconnect();
    latencies.sort((a, b) => a - b);
    return [
      {
        group,
        subject: "@ops/flags + @ops/adapter-redis",
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        note: `${changes} changes x 3 processes; target p99 <= 50 ms`,
        ours: true,
      },
      {
        group,
        subject: "LaunchDarkly streaming (published)",
        p50Ms: 200,
        note: '"typically within 200 ms" (vendor docs), not measured here',
      },
      { group, subject: "Unleash polling (published)", p50Ms: 7500, p99Ms: 15000, note: "15 s default poll interval, not measured here" },
    ];
  },
};
export default bench;
