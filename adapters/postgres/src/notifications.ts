import { ConfigError, UnavailableError } from "@ops/core";

/** What a listener tells a subscriber about its connection, besides payloads. */
export interface PgListenEvents {
  /** The listening connection was lost: notifications sent from now on are missed until `onReconnect`. */
  onDown?(): void;
  /** LISTEN is active again after a loss: whatever was sent meanwhile was missed (re-read it). */
  onReconnect?(): void;
}

/**
 * How the flag store hears PostgreSQL notifications (LISTEN/NOTIFY): a connection of its own that
 * stays LISTENing. Drizzle's `db` cannot listen (a pool hands out a different connection per
 * query), so the app passes one of these, made from its driver.
 */
export interface PgListener {
  /**
   * Starts listening on `channel`; resolves once LISTEN is active, with a function that stops.
   * `events` (optional for a listener to support) reports a lost and a re-established connection.
   */
  listen(channel: string, onPayload: (payload: string) => void, events?: PgListenEvents): Promise<() => Promise<void>>;
}

type Notification = { channel: string; payload?: string | undefined };

/** The part of a node-postgres `Client` that LISTEN needs (a dedicated, connected client, not a pool). */
export interface NodePgListenClient {
  query(text: string): Promise<unknown>;
  on(event: "notification", fn: (msg: Notification) => void): unknown;
  removeListener(event: "notification", fn: (msg: Notification) => void): unknown;
}

/** What a node-postgres `Client` also has, used when present: loss events, `end`, its parameters. */
interface FullClient extends NodePgListenClient {
  on(event: "notification", fn: (msg: Notification) => void): unknown;
  on(event: "error" | "end", fn: (err?: unknown) => void): unknown;
  removeListener(event: "notification", fn: (msg: Notification) => void): unknown;
  removeListener(event: "error" | "end", fn: (err?: unknown) => void): unknown;
  end?(): Promise<void>;
  connect?(): Promise<void>;
  connectionParameters?: unknown;
  _ending?: boolean;
}

export interface NodePgListenerOptions {
  /** First delay before reconnecting after a loss (ms, default 100); doubled per failed attempt. */
  minReconnectDelayMs?: number;
  /** Longest delay between reconnect attempts (ms, default 1000): LISTEN resumes within it after recovery. */
  maxReconnectDelayMs?: number;
}

const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

function positive(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new ConfigError(`[ops/adapter-postgres] invalid ${path}: expected a positive number of milliseconds`, [
      { path, message: "expected a positive number of milliseconds" },
    ]);
  return value;
}

/**
 * A listener over a dedicated node-postgres connection: a connected `Client`
 * (`new pg.Client(url)` + `connect()`), or a function returning a new connected one. Several
 * stores may share it: a channel is UNLISTENed only when its last subscriber stops.
 *
 * When the connection drops (server restart, network cut, a terminated backend), subscribers are
 * told (`onDown`) and the listener reconnects with backoff (100 ms doubling to 1 s, so LISTEN
 * resumes within about a second of recovery): from the function, or with a new `Client` of the
 * same class and connection parameters; it LISTENs again on every channel and tells subscribers
 * (`onReconnect`), which re-read what they missed. A client the app ended itself is not replaced.
 * Connections the listener opened are ended when the last channel stops; the app's own client
 * stays the app's to end.
 * @throws ConfigError for a bad option.
 */
export function nodePgListener(
  source: NodePgListenClient | (() => Promise<NodePgListenClient>),
  options?: NodePgListenerOptions,
): PgListener {
  // One listener per client: stores made over the same client share its handlers and LISTENs.
  if (typeof source !== "function" && options === undefined) {
    const shared = sharedListeners.get(source);
    if (shared) return shared;
    const made = makeNodePgListener(source, {});
    sharedListeners.set(source, made);
    return made;
  }
  return makeNodePgListener(source, options ?? {});
}

const sharedListeners = new WeakMap<object, PgListener>();

function makeNodePgListener(source: NodePgListenClient | (() => Promise<NodePgListenClient>), options: NodePgListenerOptions): PgListener {
  const minDelay = positive(options?.minReconnectDelayMs, "options.minReconnectDelayMs", 100);
  const maxDelay = Math.max(minDelay, positive(options?.maxReconnectDelayMs, "options.maxReconnectDelayMs", 1000));
  const factory = typeof source === "function" ? source : null;
  const original = typeof source === "function" ? null : (source as FullClient);
  type Sub = { onPayload: (payload: string) => void; events: PgListenEvents | undefined };
  const subs = new Map<string, Set<Sub>>();
  let current: FullClient | null = null;
  let owned = false;
  let opening: Promise<FullClient> | null = null;
  let reconnecting = false;
  let originalLost = false;
  let appEnded = false;
  let detach: (() => void) | null = null;

  const everySub = () => [...subs.values()].flatMap((set) => [...set]);
  const tell = (what: "onDown" | "onReconnect") => {
    for (const sub of everySub()) {
      try {
        sub.events?.[what]?.();
      } catch {
        // A throwing subscriber must not stop the others or the reconnect.
      }
    }
  };

  const attach = (client: FullClient) => {
    const onNotification = (msg: Notification) => {
      if (msg.payload === undefined) return;
      for (const sub of [...(subs.get(msg.channel) ?? [])]) sub.onPayload(msg.payload);
    };
    // Both events may fire for one loss: the first one counts.
    const onLost = () => lost(client);
    client.on("notification", onNotification);
    if (typeof (client as Partial<FullClient>).on === "function") {
      client.on("error", onLost);
      client.on("end", onLost);
    }
    detach = () => {
      client.removeListener("notification", onNotification);
      client.removeListener("error", onLost);
      client.removeListener("end", onLost);
    };
  };

  const adopt = (client: FullClient, isOwned: boolean) => {
    detach?.();
    // A reconnect racing a first LISTEN may have opened one already: keep one connection.
    if (current && current !== client && owned) void current.end?.().catch(() => {});
    current = client;
    owned = isOwned;
    attach(client);
  };

  /** A new connected client: from the factory, or a clone of the app's client. Null when none can be made. */
  const make = async (): Promise<FullClient | null> => {
    if (factory) return (await factory()) as FullClient;
    const Ctor = (original as { constructor?: unknown } | null)?.constructor as (new (config: unknown) => FullClient) | undefined;
    if (typeof Ctor !== "function" || original?.connectionParameters === undefined) return null;
    const client = new Ctor(original.connectionParameters);
    client.on("error", () => {}); // errors before `attach` must not crash the process
    await client.connect?.();
    return client;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      (t as { unref?: () => void }).unref?.();
    });

  const reconnect = async () => {
    if (reconnecting) return;
    reconnecting = true;
    let delay = minDelay;
    try {
      while (subs.size > 0) {
        await sleep(delay);
        if (subs.size === 0) return;
        let client: FullClient | null = null;
        try {
          client = await make();
          if (client === null) return;
          for (const channel of subs.keys()) await client.query(`LISTEN ${quote(channel)}`);
        } catch {
          await client?.end?.().catch(() => {});
          delay = Math.min(delay * 2, maxDelay);
          continue;
        }
        if (subs.size === 0) {
          await client.end?.().catch(() => {});
          return;
        }
        adopt(client, true);
        tell("onReconnect");
        return;
      }
    } finally {
      reconnecting = false;
    }
  };

  const lost = (client: FullClient) => {
    if (client !== current) return;
    if (client === original) originalLost = true;
    if (client === original && client._ending === true) appEnded = true;
    detach?.();
    detach = null;
    current = null;
    if (owned) void client.end?.().catch(() => {});
    if (subs.size === 0) return;
    tell("onDown");
    // The app ended its own client on purpose: do not open a connection behind its back.
    if (!owned && client._ending === true) return;
    void reconnect();
  };

  const open = async (): Promise<FullClient> => {
    if (current) return current;
    if (original && !originalLost) {
      adopt(original, false);
      return original;
    }
    if (appEnded) throw new UnavailableError("[ops/adapter-postgres] the LISTEN client was ended by the app");
    opening ??= (async () => {
      const client = await make();
      if (client === null) throw new UnavailableError("[ops/adapter-postgres] the LISTEN connection was lost and cannot be re-opened");
      adopt(client, true);
      return client;
    })().finally(() => {
      opening = null;
    });
    return opening;
  };

  return {
    async listen(channel, onPayload, events) {
      const client = await open();
      const sub: Sub = { onPayload, events };
      let set = subs.get(channel);
      const first = set === undefined;
      if (!set) subs.set(channel, (set = new Set()));
      set.add(sub);
      if (first) {
        try {
          await client.query(`LISTEN ${quote(channel)}`);
        } catch (err) {
          set.delete(sub);
          if (set.size === 0) subs.delete(channel);
          if (subs.size === 0 && owned && current === client) {
            detach?.();
            current = null;
            await client.end?.().catch(() => {});
          }
          throw err;
        }
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        const mine = subs.get(channel);
        mine?.delete(sub);
        if (mine && mine.size > 0) return;
        subs.delete(channel);
        const c = current;
        if (!c) return;
        await c.query(`UNLISTEN ${quote(channel)}`).catch(() => {});
        if (subs.size === 0 && current === c) {
          detach?.();
          detach = null;
          current = null;
          if (owned) await c.end?.().catch(() => {});
        }
      };
    },
  };
}

/** A listener over a postgres.js `sql` (it opens its own listening connection). */
export function postgresJsListener(sql: {
  listen(channel: string, fn: (payload: string) => void, onlisten?: () => void): Promise<{ unlisten(): Promise<unknown> }>;
}): PgListener {
  return {
    async listen(channel, onPayload, events) {
      // postgres.js re-LISTENs by itself after its listening connection closes and calls
      // `onlisten` each time: every call after the first is a reconnect.
      let listened = false;
      const sub = await sql.listen(channel, onPayload, () => {
        if (listened) events?.onReconnect?.();
        listened = true;
      });
      return async () => void (await sub.unlisten().catch(() => {}));
    },
  };
}

/** A listener over a PGlite instance. */
export function pgliteListener(pglite: {
  listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
}): PgListener {
  return {
    async listen(channel, onPayload) {
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => void (await unlisten().catch(() => {}));
    },
  };
}

/** The notification channel of flag changes for a table schema (one per schema: tests share a database). */
export function flagChannel(schema: string | undefined): string {
  return (schema === undefined || schema === "public" ? "ops_flag_changes" : `ops_flag_changes_${schema}`).slice(0, 63);
}

/**
 * A listener that opens ONE dedicated node-postgres connection of its own from `url` (the `pg`
 * package, loaded on first use), reconnects it after a loss like `nodePgListener`, and ends it when
 * its last channel stops. For clients whose own connections cannot LISTEN (Prisma, a pool, a
 * transaction pooler): `url` must reach PostgreSQL directly or through a session-mode pooler, since
 * LISTEN through a transaction pooler hears nothing. This is what the `listenUrl` option makes.
 */
export function pgUrlListener(url: string, options: NodePgListenerOptions = {}): PgListener {
  return nodePgListener(async () => {
    const pg = (await import("pg")) as unknown as { default?: { Client: new (o: object) => never }; Client?: new (o: object) => never };
    const Client = (pg.default?.Client ?? pg.Client)!;
    const client = new Client({ connectionString: url }) as unknown as FullClient & { connect(): Promise<void> };
    // A lost listening connection must not crash the process: the listener reconnects.
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end?.().catch(() => {});
      throw err;
    }
    return client;
  }, options);
}
