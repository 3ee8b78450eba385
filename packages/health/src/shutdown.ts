import { parseInput } from "@ops/core";
import * as z from "zod";
import type { Health } from "./health.js";
import { describeError } from "./scrub.js";

/** A server to stop accepting connections: node http/https/http2 servers, net servers. */
export interface ClosableServer {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

/** Something to close after the servers: a pg pool, a Redis client, a Prisma client, a buffered audit log. */
export type Closer = (() => unknown) | { name?: string; close: () => unknown };

export interface GracefulShutdownOptions {
  /** Servers to close once the drain delay is over. More can be added with `addServer`. */
  servers?: ClosableServer[];
  /** Closed one after another, in order, after the servers (flush before closing pools). */
  closers?: Closer[];
  /** How long to keep serving after the signal while load balancers stop routing here. Default 5000 ms. */
  drainDelayMs?: number;
  /** Open connections still busy this long after `server.close()` are destroyed. Default 5000 ms. */
  serverCloseTimeoutMs?: number;
  /** The process exits (code 1) this long after the signal whatever is still running. Default 25000 ms
   * (under Kubernetes' default 30 s grace period). */
  hardTimeoutMs?: number;
  /** Default ["SIGTERM", "SIGINT"]. A second signal while shutting down exits at once (code 1). */
  signals?: NodeJS.Signals[];
  /** A signal arriving this soon after the one that started the shutdown is the same request
   * delivered twice (a terminal's Ctrl-C or `kill -- -pgid` reaches the whole process group, and
   * wrappers such as npm, tsx and nodemon relay it once more): it is logged and ignored, so the
   * drain still runs. Later signals force the exit. Default 1000 ms; 0 forces on any repeat. */
  repeatWindowMs?: number;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Progress lines (never secrets). Default: `console.error`. */
  log?: (line: string) => void;
}

const ServerSchema = z.custom<ClosableServer>(
  (v) => typeof (v as ClosableServer | undefined)?.close === "function",
  "expected a server with close()",
);
const CloserSchema = z.custom<Closer>(
  (v) => typeof v === "function" || typeof (v as { close?: unknown } | undefined)?.close === "function",
  "expected a function or an object with close()",
);
const OptionsSchema = z
  .object({
    servers: z.array(ServerSchema).optional(),
    closers: z.array(CloserSchema).optional(),
    drainDelayMs: z.number().int().nonnegative("expected drainDelayMs >= 0").optional(),
    serverCloseTimeoutMs: z.number().int().nonnegative("expected serverCloseTimeoutMs >= 0").optional(),
    hardTimeoutMs: z.number().int().positive("expected hardTimeoutMs > 0").optional(),
    repeatWindowMs: z.number().int().nonnegative("expected repeatWindowMs >= 0").optional(),
    signals: z.array(z.string().regex(/^SIG[A-Z0-9]+$/, "expected a signal name such as SIGTERM")).optional(),
    exit: z.custom<(code: number) => void>((v) => typeof v === "function").optional(),
    log: z.custom<(line: string) => void>((v) => typeof v === "function").optional(),
  })
  .refine((o) => (o.drainDelayMs ?? 5_000) < (o.hardTimeoutMs ?? 25_000), {
    message: "expected drainDelayMs < hardTimeoutMs (the drain must end before the forced exit)",
    path: ["drainDelayMs"],
  });

export interface GracefulShutdown {
  /** @throws ValidationError when `server` has no close() */
  addServer(server: ClosableServer): void;
  /** Registers a store or client to close after the servers. @throws ValidationError when it is not closable */
  register(closer: Closer): void;
  /** Starts the shutdown as a signal would; resolves with the exit code once closing is done. */
  shutdown(reason?: string): Promise<number>;
  /** Removes the signal handlers (tests, hot reload). */
  dispose(): void;
}

/**
 * Kubernetes-style graceful shutdown. On SIGTERM (or `shutdown()`): readiness fails at once, the
 * app keeps serving for `drainDelayMs` (endpoints are removed at the same time as the signal, so
 * traffic still arrives for a few seconds), then servers close, then closers run in order, then
 * the process exits: 0 if everything closed, 1 if something failed or `hardTimeoutMs` elapsed.
 * @throws ValidationError on bad options
 */
export function gracefulShutdown(health: Health, options: GracefulShutdownOptions = {}): GracefulShutdown {
  const opts = parseInput(OptionsSchema, options, { pkg: "health", what: "gracefulShutdown options" });
  const servers: ClosableServer[] = [...(options.servers ?? [])];
  const closers: Closer[] = [...(options.closers ?? [])];
  const drainDelayMs = opts.drainDelayMs ?? 5_000;
  const serverCloseTimeoutMs = opts.serverCloseTimeoutMs ?? 5_000;
  const hardTimeoutMs = opts.hardTimeoutMs ?? 25_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = options.log ?? ((line: string) => console.error(line));
  const signals = (opts.signals ?? ["SIGTERM", "SIGINT"]) as NodeJS.Signals[];
  const repeatWindowMs = opts.repeatWindowMs ?? 1_000;
  let running: Promise<number> | undefined;
  let signalledAt: number | undefined;
  let exited = false;
  const finish = (code: number) => {
    if (exited) return;
    exited = true;
    exit(code);
  };

  const run = async (reason: string): Promise<number> => {
    health.beginShutdown();
    log(`[ops/health] ${reason}: readiness now fails; draining for ${drainDelayMs} ms`);
    const hard = setTimeout(() => {
      log(`[ops/health] shutdown exceeded ${hardTimeoutMs} ms: exiting now`);
      finish(1);
    }, hardTimeoutMs);
    // Not unref'd: a closer stuck on a promise holds no handle, so the loop could empty and the
    // process exit 0 with that store never closed; this timer keeps it alive until exit(1).
    await sleep(drainDelayMs);
    let failed = false;
    await Promise.all(
      servers.map((s) =>
        closeServer(s, serverCloseTimeoutMs).catch((err: unknown) => {
          failed = true;
          log(`[ops/health] closing a server failed: ${describeError(err)}`);
        }),
      ),
    );
    for (const [i, c] of closers.entries()) {
      const name = typeof c === "function" ? c.name || `closer ${i + 1}` : (c.name ?? `closer ${i + 1}`);
      try {
        await (typeof c === "function" ? c() : c.close());
      } catch (err) {
        failed = true;
        log(`[ops/health] closing ${name} failed: ${describeError(err)}`);
      }
    }
    health.close();
    clearTimeout(hard);
    const code = failed ? 1 : 0;
    log(`[ops/health] shutdown complete (exit ${code})`);
    finish(code);
    return code;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (running !== undefined) {
      if (signalledAt !== undefined && performance.now() - signalledAt < repeatWindowMs) {
        log(`[ops/health] ${signal} repeated within ${repeatWindowMs} ms (one request delivered twice): still draining`);
        return;
      }
      log(`[ops/health] second ${signal} while shutting down: exiting now`);
      finish(1);
      return;
    }
    signalledAt = performance.now();
    running = run(`received ${signal}`);
  };
  for (const s of signals) process.on(s, onSignal);

  return {
    addServer: (s) => void servers.push(parseInput(ServerSchema, s, { pkg: "health", what: "addServer server" })),
    register: (c) => void closers.push(parseInput(CloserSchema, c, { pkg: "health", what: "register closer" })),
    shutdown: (reason = "shutdown requested") => (running ??= run(reason)),
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

function closeServer(server: ClosableServer, forceAfterMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Idle keep-alive sockets would hold close() open until they time out.
    const force = setTimeout(() => server.closeAllConnections?.(), forceAfterMs);
    force.unref();
    server.close((err) => {
      clearTimeout(force);
      // A server that was never listening is already closed: not a failure.
      if (err && (err as NodeJS.ErrnoException).code !== "ERR_SERVER_NOT_RUNNING") reject(err);
      else resolve();
    });
    server.closeIdleConnections?.();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
