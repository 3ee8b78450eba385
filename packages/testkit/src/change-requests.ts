import {
  ConflictError,
  NotFoundError,
  ValidationError,
  type ChangeRequestRecord,
  type ChangeRequestStore,
  type NewChangeRequest,
} from "@ops/core";
import { concurrently, randomKey, registerCases, withStore, type ConformanceCase, type ConformanceOptions } from "./conformance.js";
import { guardCases } from "./guard.js";

/** Reads what a ChangeRequestStore really stored, bypassing its API. */
export interface ChangeRequestRawBackdoor {
  read(input: { env: string; id: string }): Promise<Pick<ChangeRequestRecord, "status" | "version" | "config" | "reviewer"> | null>;
}

export type ChangeRequestConformanceOptions = ConformanceOptions<ChangeRequestStore, ChangeRequestRawBackdoor>;

function fail(message: string): never {
  throw new Error(`[change request conformance] ${message}`);
}
function check(cond: unknown, message: string): asserts cond {
  if (!cond) fail(message);
}
/** Deep equality with object key order ignored (jsonb reorders keys). */
function same(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(canon).join(",")}]`
      : v !== null && typeof v === "object"
        ? `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
            .join(",")}}`
        : JSON.stringify(v);
  return canon(a) === canon(b);
}
async function rejectsWith(p: Promise<unknown>, type: new (...a: never[]) => Error, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    check(err instanceof type, `${what}: expected ${type.name}, got ${String(err)}`);
    return;
  }
  fail(`${what}: expected ${type.name}, but it resolved`);
}

function request(env: string, id: string, over: Partial<NewChangeRequest> = {}): NewChangeRequest {
  return {
    id,
    env,
    key: "checkout",
    tenantId: null,
    kind: "update",
    config: { type: "boolean", enabled: true, value: true, rules: [], nested: { list: [1, "two", null] } },
    change: { kind: "update", patch: { value: true } },
    baseVersion: 3,
    author: "alice",
    reason: "launch",
    ...over,
  };
}

/** The cases every ChangeRequestStore must pass. */
export function changeRequestStoreCases(opts: ChangeRequestConformanceOptions): ConformanceCase[] {
  const env = () => randomKey("env");
  return [
    {
      name: "create stores a pending request at version 1 and get returns it deep-equal",
      run: () =>
        withStore(opts, async (store, raw) => {
          const e = env();
          const made = await store.create({ request: request(e, "cr1") });
          check(
            made.status === "pending" && made.version === 1 && made.reviewer === null && made.appliedVersion === null,
            "fresh request state",
          );
          check(made.createdAt === made.updatedAt && !Number.isNaN(Date.parse(made.createdAt)), "timestamps set by the store");
          const got = await store.get({ env: e, id: "cr1" });
          check(
            got !== null && same(got.config, request(e, "cr1").config) && same(got.change, request(e, "cr1").change),
            "config and change round-trip (deep-equal)",
          );
          check(got.baseVersion === 3 && got.author === "alice" && got.tenantId === null, "fields round-trip");
          const del = await store.create({
            request: request(e, "cr-del", { config: null, kind: "delete", baseVersion: null, tenantId: "t1" }),
          });
          check(
            del.config === null && del.baseVersion === null && del.tenantId === "t1",
            "null config / base version and a tenant round-trip",
          );
          if (raw) {
            const r = await raw.read({ env: e, id: "cr1" });
            check(r?.status === "pending" && r.version === 1, "backdoor sees the stored request");
          }
          check((await store.get({ env: env(), id: "cr1" })) === null, "another environment does not see it");
        }),
    },
    {
      name: "two creators of the same id: exactly one wins",
      run: () =>
        withStore(opts, async (store) => {
          const e = env();
          const { fulfilled, rejected } = await concurrently(5, (i) => store.create({ request: request(e, "same", { author: `a${i}` }) }));
          check(fulfilled.length === 1 && rejected.length === 4, `one winner, got ${fulfilled.length}`);
          check(
            rejected.every((r) => r instanceof ConflictError),
            "losers get ConflictError",
          );
          await rejectsWith(store.create({ request: request(e, "same") }), ConflictError, "create of an existing id");
        }),
    },
    {
      name: "update is compare-and-set: one of N concurrent reviewers wins, losers change nothing",
      run: () =>
        withStore(opts, async (store, raw) => {
          const e = env();
          await store.create({ request: request(e, "cr") });
          const { fulfilled, rejected } = await concurrently(6, (i) =>
            store.update({ env: e, id: "cr", expectedVersion: 1, patch: { status: i % 2 ? "approved" : "rejected", reviewer: `r${i}` } }),
          );
          check(fulfilled.length === 1 && rejected.length === 5 && rejected.every((r) => r instanceof ConflictError), "exactly one winner");
          const won = fulfilled[0]!;
          const now = await store.get({ env: e, id: "cr" });
          check(now?.version === 2 && now.status === won.status && now.reviewer === won.reviewer, "the winner's patch is what is stored");
          if (raw) check((await raw.read({ env: e, id: "cr" }))?.reviewer === won.reviewer, "backdoor agrees");
          const applied = await store.update({
            env: e,
            id: "cr",
            expectedVersion: 2,
            patch: { status: "applied", appliedVersion: 4, reviewNote: "ok" },
          });
          check(
            applied.version === 3 && applied.appliedVersion === 4 && applied.reviewer === won.reviewer && applied.reviewNote === "ok",
            "partial patch keeps other fields",
          );
          check(Date.parse(applied.updatedAt) >= Date.parse(applied.createdAt), "updatedAt moves");
          await rejectsWith(
            store.update({ env: e, id: "cr", expectedVersion: 2, patch: { status: "pending" } }),
            ConflictError,
            "stale version",
          );
          await rejectsWith(
            store.update({ env: e, id: "missing", expectedVersion: 1, patch: { status: "approved" } }),
            NotFoundError,
            "absent request",
          );
          await rejectsWith(
            store.update({ env: env(), id: "cr", expectedVersion: 3, patch: { status: "approved" } }),
            NotFoundError,
            "other environment",
          );
        }),
    },
    {
      name: "list pages by id with filters, complete and without duplicates",
      run: () =>
        withStore(opts, async (store) => {
          const e = env();
          const ids = Array.from({ length: 23 }, (_, i) => `cr-${String(i).padStart(3, "0")}`);
          for (const [i, id] of ids.entries()) await store.create({ request: request(e, id, { key: i % 3 === 0 ? "other" : "checkout" }) });
          await store.create({ request: request(env(), "cr-foreign") });
          for (const id of ids.slice(0, 5))
            await store.update({ env: e, id, expectedVersion: 1, patch: { status: "rejected", reviewer: "bob" } });
          const seen: string[] = [];
          let cursor: string | null = null;
          do {
            const page = await store.list({ env: e, limit: 4, cursor });
            seen.push(...page.items.map((r) => r.id));
            cursor = page.nextCursor;
          } while (cursor);
          check(JSON.stringify(seen) === JSON.stringify(ids), `all ids once, in order: ${seen.join(",")}`);
          const pending = await store.list({ env: e, statuses: ["pending"], limit: 100 });
          check(pending.items.length === 18 && pending.items.every((r) => r.status === "pending"), "status filter");
          const other = await store.list({ env: e, key: "other", statuses: ["pending", "rejected"], limit: 100 });
          check(other.items.length === 8 && other.items.every((r) => r.key === "other"), `key filter: ${other.items.length}`);
          await rejectsWith(store.list({ env: e, limit: 0 }), ValidationError, "bad limit");
          await rejectsWith(store.list({ env: e, cursor: "not-a-cursor" }), ValidationError, "foreign cursor");
        }),
    },
  ];
}

/** Registers the ChangeRequestStore conformance suite with vitest. */
export function describeChangeRequestStoreConformance(opts: ChangeRequestConformanceOptions): void {
  registerCases(
    `ChangeRequestStore conformance: ${opts.name}`,
    [...changeRequestStoreCases(opts), ...guardCases("changeRequests", opts)],
    { ...opts.capabilities },
    opts.timeout,
  );
}
