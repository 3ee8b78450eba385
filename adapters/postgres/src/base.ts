import { UnavailableError, ValidationError, guardStore, type Clock, type StoreCapabilities, type StoreKind } from "@ops/core";
import { mapPgError } from "./errors.js";
import type { PgExecutor, Row } from "./executor.js";
import type { PgListener } from "./notifications.js";
import type { OpsRoleReport } from "./roles.js";
import { compile, type Sql } from "./sql.js";
import { opsTableNames, type OpsTableNames } from "./tables.js";

export const POSTGRES_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: true,
  pubsub: false,
  ttl: false,
  atomicCounters: true,
  durable: true,
  shared: true,
  erasure: true,
  effects: true,
});

/**
 * Flag propagation with a `listener`: at start (and every `probeIntervalMs`) the flag store
 * NOTIFYs itself through its executor and waits `probeTimeoutMs` to hear it. When it hears
 * nothing (LISTEN through a transaction pooler), or while the LISTEN connection is down, it warns
 * once and re-reads the flag versions every `pollIntervalMs`, telling subscribers what changed,
 * until LISTEN is heard again.
 */
export interface PgPropagationOptions {
  /** Polling interval while LISTEN hears nothing or is down (ms, default 1000). */
  pollIntervalMs?: number;
  /** How long the self-NOTIFY probe waits to be heard (ms, default 2000). */
  probeTimeoutMs?: number;
  /** How often the probe runs again (ms, default 30000). */
  probeIntervalMs?: number;
}

/** What every store is built from; shims fill it in for their driver. */
export interface PgStoreContext {
  exec: PgExecutor;
  /** PostgreSQL schema of the tables (default: the connection's search_path). */
  schema?: string | undefined;
  /** The package named in error messages (`adapter-drizzle`, `adapter-prisma`, `adapter-postgres`). */
  pkg?: string | undefined;
  clock?: Clock | undefined;
  /** LISTEN connection: enables `flags.subscribe`. */
  listener?: PgListener | undefined;
  /** How flag changes reach subscribers when LISTEN hears nothing or is down (see `PgPropagationOptions`). */
  propagation?: PgPropagationOptions | undefined;
  /** Where the stores' warnings go (default `console.warn`); messages carry no URL or credentials. */
  onWarning?: ((message: string) => void) | undefined;
  /**
   * Turns the `tx` given to `outbox.enqueue` into an executor on that transaction, or returns
   * null when it is not one (the shim's driver decides what a transaction handle is).
   */
  adoptTx?: ((tx: unknown) => PgExecutor | null) | undefined;
  /** What `adoptTx` expects, for the ValidationError of a wrong `tx`. */
  txExpected?: string | undefined;
  capabilities?: Partial<StoreCapabilities> | undefined;
  /** The start-up role check every store awaits before its first statement (absent: no check). */
  gate?: RoleGate | undefined;
  /** The report of the passed role check, for `ready()`. */
  roleReport?: (() => OpsRoleReport | undefined) | undefined;
}

/**
 * A role check run once per store bundle, before its first statement: resolves when the role can
 * see what the stores ask for; rejects with `OpsRoleError` otherwise (and keeps rejecting). A
 * connection failure is not remembered: the next call checks again.
 */
export class RoleGate {
  passed = false;
  private pending: Promise<void> | undefined;
  private failure: unknown;
  constructor(private readonly run: (on: PgExecutor | undefined) => Promise<void>) {}

  /** Checks (once) on `on` (a caller's transaction, so that its tenant setting counts) or the store's executor. */
  wait(on?: PgExecutor): Promise<void> {
    if (this.passed) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.pending ??= this.run(on).then(
      () => {
        this.passed = true;
      },
      (err: unknown) => {
        this.pending = undefined;
        if ((err as { code?: unknown })?.code === "CONFIG") this.failure = err;
        throw err;
      },
    );
    return this.pending;
  }
}

/** What every PostgreSQL store shares: the executor, the table names, the closed state, one error path. */
export abstract class PgStoreBase {
  readonly capabilities: StoreCapabilities;
  protected readonly exec: PgExecutor;
  protected readonly t: OpsTableNames;
  protected readonly pkg: string;
  protected readonly ctx: PgStoreContext;
  private closed = false;

  constructor(ctx: PgStoreContext) {
    this.ctx = ctx;
    this.exec = ctx.exec;
    this.t = opsTableNames(ctx.schema);
    this.pkg = ctx.pkg ?? "adapter-postgres";
    this.capabilities = Object.freeze({ ...POSTGRES_CAPABILITIES, ...ctx.capabilities });
    // The contract's input checks (one table in @ops/core) run before any write reaches SQL.
    const kind = (new.target as unknown as { storeKind?: StoreKind }).storeKind;
    if (kind) guardStore(kind, this as never);
  }

  /** @throws UnavailableError after close() */
  protected assertOpen(what: string): void {
    if (this.closed) throw new UnavailableError(`[ops/${this.pkg}] ${what}: the store is closed`);
  }

  protected invalid(path: string, message: string): ValidationError {
    return new ValidationError(`[ops/${this.pkg}] invalid ${path}: ${message}`, [{ path, message }]);
  }

  /** Runs one statement, errors mapped in the one place. */
  protected async q(what: string, statement: Sql, on: PgExecutor = this.exec): Promise<Row[]> {
    this.assertOpen(what);
    if (this.ctx.gate && !this.ctx.gate.passed) await this.ctx.gate.wait(on === this.exec ? undefined : on);
    const { text, params } = compile(statement);
    try {
      // null once the executor's one-time check passed (postgres.js behind a pooler: refused).
      await this.exec.ready?.();
      return await on.query(text, params);
    } catch (err) {
      throw mapPgError(err, what, this.pkg);
    }
  }

  /** Runs `fn` in a transaction, errors mapped in the one place. */
  protected async tx<T>(what: string, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
    this.assertOpen(what);
    if (this.ctx.gate && !this.ctx.gate.passed) await this.ctx.gate.wait();
    try {
      // null once the executor's one-time check passed (postgres.js behind a pooler: refused).
      await this.exec.ready?.();
      return await this.exec.transaction(fn);
    } catch (err) {
      throw mapPgError(err, what, this.pkg);
    }
  }

  /** Never closes the executor's connections: the app owns them. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
