/**
 * How the flag store hears PostgreSQL notifications (LISTEN/NOTIFY): a connection of its own that
 * stays LISTENing. Drizzle's `db` cannot listen (a pool hands out a different connection per
 * query), so the app passes one of these, made from its driver.
 */
export interface PgListener {
  /** Starts listening on `channel`; resolves once LISTEN is active, with a function that stops. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
}

/** The part of a node-postgres `Client` that LISTEN needs (a dedicated, connected client, not a pool). */
export interface NodePgListenClient {
  query(text: string): Promise<unknown>;
  on(event: "notification", fn: (msg: { channel: string; payload?: string | undefined }) => void): unknown;
  removeListener(event: "notification", fn: (msg: { channel: string; payload?: string | undefined }) => void): unknown;
}

const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

/**
 * A listener over a dedicated, connected node-postgres `Client` (`new pg.Client(url)` + `connect()`).
 * Several stores may share it: a channel is UNLISTENed only when its last subscriber stops.
 */
export function nodePgListener(client: NodePgListenClient): PgListener {
  const active = new Map<string, number>();
  return {
    async listen(channel, onPayload) {
      const handler = (msg: { channel: string; payload?: string | undefined }) => {
        if (msg.channel === channel && msg.payload !== undefined) onPayload(msg.payload);
      };
      client.on("notification", handler);
      active.set(channel, (active.get(channel) ?? 0) + 1);
      await client.query(`LISTEN ${quote(channel)}`);
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        client.removeListener("notification", handler);
        const left = (active.get(channel) ?? 1) - 1;
        if (left > 0) active.set(channel, left);
        else {
          active.delete(channel);
          await client.query(`UNLISTEN ${quote(channel)}`).catch(() => {});
        }
      };
    },
  };
}

/** A listener over a postgres.js `sql` (it opens its own listening connection). */
export function postgresJsListener(sql: {
  listen(channel: string, fn: (payload: string) => void): Promise<{ unlisten(): Promise<unknown> }>;
}): PgListener {
  return {
    async listen(channel, onPayload) {
      const sub = await sql.listen(channel, onPayload);
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
 * package, loaded on first use) and ends it when its last channel stops. For clients whose own
 * connections cannot LISTEN (Prisma, a pool). `url` must reach PostgreSQL directly: LISTEN through
 * a transaction pooler hears nothing.
 */
export function pgUrlListener(url: string): PgListener {
  let client: Promise<{ inner: NodePgListenClient & { end(): Promise<void> }; shared: PgListener }> | null = null;
  let active = 0;
  const open = () =>
    (client ??= (async () => {
      const pg = (await import("pg")) as unknown as { default?: { Client: new (o: object) => never }; Client?: new (o: object) => never };
      const Client = (pg.default?.Client ?? pg.Client)!;
      const inner = new Client({ connectionString: url }) as unknown as NodePgListenClient & {
        end(): Promise<void>;
        connect(): Promise<void>;
        on(event: "error", fn: (err: Error) => void): unknown;
      };
      // A lost listening connection must not crash the process; subscribers stop hearing changes.
      inner.on("error", () => {});
      await inner.connect();
      return { inner, shared: nodePgListener(inner) };
    })().catch((err: unknown) => {
      client = null;
      throw err;
    }));
  return {
    async listen(channel, onPayload) {
      const { inner, shared } = await open();
      const stop = await shared.listen(channel, onPayload);
      active++;
      return async () => {
        await stop();
        if (--active === 0) {
          client = null;
          await inner.end().catch(() => {});
        }
      };
    },
  };
}
