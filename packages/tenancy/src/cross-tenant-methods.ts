import type { TenantKey } from "@ops/core";
import { runUnscoped, type TenantScope } from "./tenant-scope.js";

/** What a handler of a cross-tenant method gets. `store` is the unscoped store. */
export interface CallContext {
  scope: TenantScope;
  store: object;
  args: unknown[];
  method: string;
  /** Reports the attempt and rejects with `TenantIsolationError`. */
  refuse(attempted: TenantKey | undefined, reason: string): Promise<never>;
}

export interface MethodHandler {
  /** Replaces an async method. Its result is still checked for foreign records. */
  call?: (ctx: CallContext) => Promise<unknown>;
  /** Replaces a synchronous method (`subscribe`). */
  sync?: (ctx: CallContext) => unknown;
}

type AnyFn = (input?: unknown) => unknown;

function method(store: object, name: string): AnyFn {
  const fn = (store as Record<string, unknown>)[name];
  if (typeof fn !== "function") throw new TypeError(`[ops/tenancy] the store has no method ${name}`);
  return (input?: unknown) => (fn as AnyFn).call(store, input);
}

function input(ctx: CallContext): Record<string, unknown> {
  const v = ctx.args[0];
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}

/** Refuses a worker-wide method: it must run unscoped (`runUnscoped`) on the raw store. */
function refuseAll(reason: string): MethodHandler {
  return { call: (ctx) => ctx.refuse(undefined, reason) };
}

/**
 * Acts on a message by id only after checking, on the raw store, that it belongs to the scope. The
 * tenant of a message never changes, so the check cannot be raced into a leak.
 */
function byOwnedMessage(): MethodHandler {
  return {
    call: async (ctx) => {
      const id = input(ctx).id;
      const found = (await method(ctx.store, "get")({ id })) as { tenantId: TenantKey } | null;
      if (found && found.tenantId !== ctx.scope.tenantId) await ctx.refuse(found.tenantId, "the message belongs to another tenant");
      return method(ctx.store, ctx.method)(ctx.args[0]);
    },
  };
}

/** A lookup whose answer is checked: a record of another tenant is refused, not returned. */
function ownedLookup(): MethodHandler {
  return {
    call: async (ctx) => {
      const found = (await method(ctx.store, ctx.method)(ctx.args[0])) as { tenantId: TenantKey } | null;
      if (found && found.tenantId !== ctx.scope.tenantId) await ctx.refuse(found.tenantId, "the record belongs to another tenant");
      return found;
    },
  };
}

/**
 * An all-tenant sweep becomes a sweep of the scope's tenant through `list` (newest first, `list`'s
 * cursors): the scoped caller pages through its own records, never learns other tenants exist.
 */
function sweepOwnTenant(): MethodHandler {
  return {
    call: async (ctx) => {
      const q = input(ctx);
      return method(
        ctx.store,
        "list",
      )({
        tenantId: ctx.scope.tenantId,
        ...(q.states === undefined ? {} : { states: q.states }),
        ...(q.limit === undefined ? {} : { limit: q.limit }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  };
}

/**
 * Methods that reach across tenants by design (workers, evaluators, sweepers) and how a scoped
 * store narrows or refuses each. Keyed by store slot, then method name.
 */
export const CROSS_TENANT_METHODS: Record<string, Record<string, MethodHandler>> = {
  flags: {
    // The evaluator's snapshot: narrowed to the global definitions plus this tenant's overrides.
    snapshot: {
      call: async (ctx) => {
        const all = (await method(ctx.store, "snapshot")(ctx.args[0])) as Array<{ tenantId: TenantKey }>;
        return all.filter((r) => r.tenantId === null || r.tenantId === ctx.scope.tenantId);
      },
    },
    // Its pages, narrowed the same way (a page may come back empty; the cursor still advances).
    snapshotPage: {
      call: async (ctx) => {
        const page = (await method(ctx.store, "snapshotPage")(ctx.args[0])) as {
          items: Array<{ tenantId: TenantKey }>;
          nextCursor: string | null;
        };
        return { items: page.items.filter((r) => r.tenantId === null || r.tenantId === ctx.scope.tenantId), nextCursor: page.nextCursor };
      },
    },
    // Change events of other tenants are dropped; the listener runs in the subscriber's scope.
    subscribe: {
      sync: (ctx) => {
        const listener = ctx.args[0] as (change: { tenantId: TenantKey }) => void;
        const scope = ctx.scope;
        const subscribe = (ctx.store as { subscribe: (l: (c: { tenantId: TenantKey }) => void) => () => void }).subscribe;
        return subscribe.call(ctx.store, (change) => {
          // The emitter may run inside another tenant's scope: leave it before entering ours.
          if (change.tenantId === null || change.tenantId === scope.tenantId) runUnscoped(() => scope.run(() => listener(change)));
        });
      },
    },
  },
  audit: {
    // Only the scope's own chain exists for a scoped caller; other tenants' ids are not revealed.
    chains: {
      call: async (ctx) => {
        const head = await method(ctx.store, "head")({ tenantId: ctx.scope.tenantId });
        return { items: head ? [ctx.scope.tenantId] : [], nextCursor: null };
      },
    },
  },
  incidents: {
    // The all-tenant sweep becomes a sweep of this tenant (same order, this store's cursors).
    scan: sweepOwnTenant(),
    listActiveAll: sweepOwnTenant(),
  },
  authEvents: {
    prune: refuseAll("retention pruning spans every tenant: run it unscoped on the raw store"),
  },
  outbox: {
    claim: refuseAll("claiming leases messages of every tenant: run the delivery worker unscoped on the raw store"),
    complete: byOwnedMessage(),
    fail: byOwnedMessage(),
    requeue: byOwnedMessage(),
    cancel: byOwnedMessage(),
    get: ownedLookup(),
  },
};
