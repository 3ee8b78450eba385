import type { Cluster, Redis } from "ioredis";
import * as z from "zod";
import { parseInput, type FlagChange, type FlagStore } from "@ops/core";
import { isCluster, type RedisClient } from "./client.js";

export interface RedisFlagPropagationOptions {
  /** Channel name prefix, shared by every instance of one deployment. Default "ops". */
  prefix?: string;
  /** While the Redis subscription is down, the durable store is re-read this often. Default 5000 ms. */
  pollIntervalMs?: number;
  /**
   * Longest delay between reconnect attempts of the subscription (ms, default 1000; attempts start
   * at 50 ms and double): after Redis comes back, changes are heard again (and what was missed is
   * re-read) within about this long, whatever the client's own, slower, `retryStrategy`. Not used
   * with a Cluster (its `clusterRetryStrategy` applies).
   */
  maxReconnectDelayMs?: number;
  /** Told about publish failures (the write itself succeeded; other instances catch up by polling). */
  onError?: (err: unknown, what: string) => void;
}

const OptionsSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "expected 1-64 characters of A-Z a-z 0-9 _ . : -")
      .optional(),
    pollIntervalMs: z.number().int().min(100, "expected at least 100 ms").optional(),
    maxReconnectDelayMs: z.number().int().min(50, "expected at least 50 ms").max(60_000, "expected at most 60000 ms").optional(),
    onError: z.custom<(err: unknown, what: string) => void>((v) => typeof v === "function").optional(),
  })
  .strict();

const ChangeSchema = z.object({
  env: z.string(),
  key: z.string(),
  tenantId: z.string().nullable(),
  version: z.number().int().nonnegative(),
});

/**
 * Flags stored durably (PostgreSQL through `@ops/adapter-postgres`, Drizzle or Prisma) with Redis
 * carrying the change notifications between instances: every read and write goes to `durable`,
 * the source of truth; after a write commits, a small `FlagChange` is PUBLISHed, and subscribers
 * (the `FeatureFlagController` of every instance) hear it within milliseconds.
 *
 * Redis holds no flag state, so a Redis restarted empty (the common cache configuration, without
 * persistence) loses nothing: while the subscription is down the durable store is polled every
 * `pollIntervalMs`, and on reconnect it is re-read and every record whose version changed is
 * reported. A failed PUBLISH never fails the write. Changes are also taken from `durable.subscribe`
 * when it has one (LISTEN/NOTIFY), deduplicated by version. Everything else the durable store
 * offers (methods, capabilities) is passed through.
 */
export function redisFlagPropagation(durable: FlagStore, redis: Redis | Cluster, options: RedisFlagPropagationOptions = {}): FlagStore {
  const opts = parseInput(OptionsSchema, options, { pkg: "adapter-redis", what: "redisFlagPropagation options" });
  const p = new Propagation(durable, redis, opts);
  return new Proxy(durable, {
    get(target, prop, receiver) {
      if (prop === "put") return p.put;
      if (prop === "delete") return p.delete;
      if (prop === "subscribe") return p.subscribe;
      if (prop === "close") return p.close;
      if (prop === "snapshot") return p.snapshot;
      // Absent when the durable store has none (callers fall back to `snapshot`).
      if (prop === "snapshotPage") return typeof target.snapshotPage === "function" ? p.snapshotPage : undefined;
      if (prop === "capabilities") return { ...target.capabilities, pubsub: true };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

class Propagation {
  private readonly channel: string;
  private readonly pollIntervalMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly listeners = new Set<(c: FlagChange) => void>();
  /** Last version reported per record (0 entries are removed), to drop duplicates. */
  private readonly known = new Map<string, number>();
  private readonly envs = new Set<string>();
  private subscriber: RedisClient | null = null;
  private unsubscribeDurable: (() => void) | null = null;
  private subscriptionUp = false;
  private everReady = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private snapshotted = false;

  constructor(
    private readonly durable: FlagStore,
    private readonly redis: RedisClient,
    private readonly opts: RedisFlagPropagationOptions,
  ) {
    this.channel = `${opts.prefix ?? "ops"}:flags:changes`;
    this.pollIntervalMs = opts.pollIntervalMs ?? 5_000;
    this.maxReconnectDelayMs = opts.maxReconnectDelayMs ?? 1_000;
  }

  readonly put: FlagStore["put"] = async (input) => {
    const record = await this.durable.put(input);
    this.envs.add(input.env);
    await this.publish({ env: input.env, key: input.key, tenantId: input.tenantId, version: record.version });
    return record;
  };

  readonly delete: FlagStore["delete"] = async (input) => {
    await this.durable.delete(input);
    this.envs.add(input.env);
    await this.publish({ env: input.env, key: input.key, tenantId: input.tenantId, version: 0 });
  };

  /** The evaluator's full read: remembered per env, so a reconnect knows what to re-read. */
  readonly snapshot: FlagStore["snapshot"] = async (input) => {
    const records = await this.durable.snapshot(input);
    this.handedOut(input.env, records);
    return records;
  };

  /** `snapshot` in pages: each page is remembered like a whole snapshot. */
  readonly snapshotPage = async (input: Parameters<NonNullable<FlagStore["snapshotPage"]>>[0]) => {
    const page = await this.durable.snapshotPage!(input);
    this.handedOut(input.env, page.items);
    return page;
  };

  private handedOut(env: string, records: readonly { key: string; tenantId: string | null; version: number }[]): void {
    // What the caller now holds: a later re-read reports only what differs from it, so a change
    // that lands before the subscription is up is still heard (at the first "ready").
    this.envs.add(env);
    for (const r of records) {
      const id = `${env}\u0000${r.tenantId ?? "\u0001"}\u0000${r.key}`;
      this.known.set(id, Math.max(this.known.get(id) ?? 0, r.version));
    }
    this.snapshotted = true;
  }

  readonly subscribe = (listener: (change: FlagChange) => void): (() => void) => {
    if (this.closed) throw new Error("[ops/adapter-redis] redisFlagPropagation: the store is closed");
    this.listeners.add(listener);
    if (!this.subscriber) this.start();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(listener);
    };
  };

  readonly close = async (): Promise<void> => {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    this.listeners.clear();
    this.unsubscribeDurable?.();
    const sub = this.subscriber;
    this.subscriber = null;
    sub?.disconnect();
    await this.durable.close();
  };

  private async publish(change: FlagChange): Promise<void> {
    // Local subscribers hear their own process's write at once, whatever Redis does.
    this.emit(change);
    try {
      await this.redis.publish(this.channel, JSON.stringify(change));
    } catch (err) {
      this.opts.onError?.(err, "publish a flag change");
    }
  }

  private emit(change: FlagChange): void {
    const id = `${change.env}\u0000${change.tenantId ?? "\u0001"}\u0000${change.key}`;
    const seen = this.known.get(id);
    if (change.version !== 0 && seen !== undefined && seen >= change.version) return;
    if (change.version === 0) this.known.delete(id);
    else this.known.set(id, change.version);
    this.envs.add(change.env);
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A throwing listener must not stop delivery to the others.
      }
    }
  }

  private start(): void {
    if (this.durable.subscribe) this.unsubscribeDurable = this.durable.subscribe((c) => this.emit(c));
    const sub: RedisClient = isCluster(this.redis)
      ? (this.redis as Cluster).duplicate()
      : (this.redis as Redis).duplicate({
          lazyConnect: false,
          enableOfflineQueue: true,
          maxRetriesPerRequest: null,
          // ioredis' default waits up to 2 s between attempts: capped so the subscription (and the
          // re-read of what was missed) is back within `maxReconnectDelayMs` of Redis' return.
          retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 16), this.maxReconnectDelayMs),
        });
    this.subscriber = sub;
    sub.on("error", () => {
      // Reconnection is ioredis' job; while down, the durable store is polled.
    });
    sub.on("message", (_channel: string, message: string) => {
      try {
        const parsed = ChangeSchema.safeParse(JSON.parse(message));
        if (parsed.success) this.emit(parsed.data);
      } catch {
        // Not one of ours: ignored.
      }
    });
    sub.on("ready", () => {
      const wasDown = !this.subscriptionUp;
      this.subscriptionUp = true;
      this.stopPolling();
      // First connect: compared with what snapshot() handed out (or a silent baseline when nothing
      // was read yet). Reconnect: what was published while down is lost, so re-read and report.
      if (!this.everReady) {
        this.everReady = true;
        void this.resync(!this.snapshotted);
      } else if (wasDown) void this.resync(false);
    });
    const down = () => {
      if (this.closed) return;
      this.subscriptionUp = false;
      this.startPolling();
    };
    sub.on("close", down);
    sub.on("reconnecting", down);
    void sub.subscribe(this.channel).catch(() => down());
  }

  private startPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.resync(false), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** Re-reads every known environment from the durable store and reports what changed. */
  private async resync(silent: boolean): Promise<void> {
    if (this.closed) return;
    try {
      for (const env of [...this.envs]) {
        const present = new Set<string>();
        for (const r of await this.durable.snapshot({ env })) {
          const id = `${env}\u0000${r.tenantId ?? "\u0001"}\u0000${r.key}`;
          present.add(id);
          if (silent) this.known.set(id, Math.max(this.known.get(id) ?? 0, r.version));
          else if (this.known.get(id) !== r.version) this.emit({ env, key: r.key, tenantId: r.tenantId, version: r.version });
        }
        for (const id of [...this.known.keys()]) {
          if (silent || present.has(id) || !id.startsWith(`${env}\u0000`)) continue;
          const [, token, key] = id.split("\u0000") as [string, string, string];
          this.known.delete(id);
          for (const l of this.listeners) {
            try {
              l({ env, key, tenantId: token === "\u0001" ? null : token, version: 0 });
            } catch {
              // as in emit
            }
          }
        }
      }
    } catch (err) {
      this.opts.onError?.(err, "re-read flags from the durable store");
    }
  }
}
