import {
  ConflictError,
  UnavailableError,
  ValidationError,
  type AuditRecord,
  type AuditStore,
  type JsonObject,
  type SubjectKeyStore,
  type TenantKey,
} from "@ops/core";
import {
  chainOn,
  computeAuditHash,
  createAuditLog,
  generateCheckpointKeys,
  signCheckpoint,
  verifyStoreChain,
  type ChainableEntry,
  type TamperKind,
  type VerifyResult,
} from "@ops/audit";
import { concurrently, randomTenant, registerCases, withStore, type ConformanceCase, type ConformanceOptions } from "./conformance.js";
import fc from "fast-check";
import { guardCases, HOSTILE_STRING, HOSTILE_STRINGS } from "./guard.js";

/**
 * Reads and tampers with what an AuditStore really stored, bypassing its API and every rule
 * (unique seq, append-only): what someone with full database access can do. Adapters implement
 * it over their backend (plain SQL against the table, not through the store).
 */
export interface AuditRawBackdoor {
  /** Every stored row of the chain, ascending by seq, exactly as stored. */
  rows(tenantId: TenantKey): Promise<AuditRecord[]>;
  /** Overwrites fields of the row at `seq` (any field, `seq` included). */
  update(tenantId: TenantKey, seq: number, patch: Partial<AuditRecord>): Promise<void>;
  /** Deletes the row at `seq`. */
  delete(tenantId: TenantKey, seq: number): Promise<void>;
  /** Inserts a row as given (the suite only uses a free seq). */
  insert(record: AuditRecord): Promise<void>;
  /** Exchanges the positions (seq values) of two rows. */
  swap(tenantId: TenantKey, seqA: number, seqB: number): Promise<void>;
}

export interface AuditConformanceOptions extends ConformanceOptions<AuditStore, AuditRawBackdoor> {
  /** A fresh SubjectKeyStore of the same adapter: enables the crypto-shredding cases. */
  createKeys?: () => SubjectKeyStore | Promise<SubjectKeyStore>;
}

function fail(message: string): never {
  throw new Error(`[audit conformance] ${message}`);
}
function check(cond: unknown, message: string): asserts cond {
  if (!cond) fail(message);
}
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== null)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}
/** Equal as stored data: key order and null-vs-absent do not matter. */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
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
function needRaw(raw: AuditRawBackdoor | undefined): AuditRawBackdoor {
  check(raw, "this case needs the raw backdoor (opts.raw)");
  return raw;
}

let n = 0;
/** Entries with the awkward values a database round trip could change. */
function entries(count: number, tenantId: TenantKey, extra: Partial<ChainableEntry> = {}): ChainableEntry[] {
  return Array.from({ length: count }, (_, i) => {
    n++;
    const meta: JsonObject = {
      zeta: i,
      alpha: { nested: [1, 2.5, -0.125, 1e21, { b: true, a: null }], "k ey": 'välue ✓ 😀 e\u0301 "q" \\ \n' },
      big: 12345678901234,
      small: 1.5e-7,
      empty: {},
      list: [],
    };
    return {
      id: `aud_conf_${process.pid}_${n}`,
      tenantId,
      ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
      env: "test",
      action: i % 3 === 0 ? "DATA_ACCESS" : i % 3 === 1 ? "AUTH_LOGIN" : "ROLE_CHANGE",
      actor:
        i % 2 === 0
          ? { id: `actor-${i % 4}`, type: "user", ip: "203.0.113.7", userAgent: "Mozilla/5.0" }
          : { id: `svc-${i % 4}`, type: "service" },
      ...(i % 2 === 0 ? { subject: { id: `subject-${i % 5}`, type: "user" } } : {}),
      ...(i % 4 === 0 ? { target: { id: `doc-${i}`, type: "document", name: "Q1 report" } } : {}),
      outcome: i % 5 === 0 ? "failure" : "success",
      ...(i % 5 === 0 ? { reason: "denied: missing scope" } : {}),
      surface: "api",
      ...(i % 2 === 1 ? { requestId: `req-${i}`, correlationId: `corr-${i % 3}` } : {}),
      meta,
      ...extra,
    } as ChainableEntry;
  });
}

/** Appends `count` well-formed entries directly through the store; returns the records. */
async function seed(store: AuditStore, tenantId: TenantKey, count: number, extra: Partial<ChainableEntry> = {}): Promise<AuditRecord[]> {
  const head = await store.head({ tenantId });
  const records = chainOn(head, tenantId, entries(count, tenantId, extra));
  await store.append({ tenantId, records });
  return records;
}

async function expectTamper(
  store: AuditStore,
  tenantId: TenantKey,
  kind: TamperKind,
  seq: number,
  what: string,
  anchors?: { seq: number; hash: string }[],
): Promise<VerifyResult> {
  const r = await verifyStoreChain({ store, tenantId, ...(anchors ? { anchors } : {}), pageSize: 7 });
  check(!r.ok && r.problem, `${what}: verify passed a tampered chain`);
  check(
    r.problem.kind === kind && r.problem.seq === seq,
    `${what}: expected ${kind} at seq ${seq}, got ${r.problem.kind} at seq ${r.problem.seq} (${r.problem.message})`,
  );
  return r;
}

async function expectIntact(store: AuditStore, tenantId: TenantKey, count: number, what: string): Promise<void> {
  const r = await verifyStoreChain({ store, tenantId, pageSize: 7 });
  check(r.ok, `${what}: verify failed: ${r.problem?.kind} at ${r.problem?.seq}: ${r.problem?.message}`);
  check(r.checked === count, `${what}: expected ${count} entries, verify saw ${r.checked}`);
}

/** The AuditStore contract, tamper detection through the raw backdoor, and (with `createKeys`) crypto-shredding. */
/**
 * The audit log's append (`@ops/audit`, redaction on: the default) over this store, with hostile
 * text in every free-text field: each value is either refused before the store (a ValidationError
 * naming the caller's field, the chain head unchanged) or stored and read back byte-identical.
 */
async function appendHostile(store: AuditStore, field: string, value: string): Promise<void> {
  const t = randomTenant();
  const log = createAuditLog({ store, env: "test" });
  try {
    const base = {
      action: "DATA_ACCESS" as const,
      actor: { id: "alice", type: "user" as const },
      tenantId: t,
      target: { id: "doc-1", type: "doc" },
    };
    await log.append(base);
    const head = await store.head({ tenantId: t });
    const input =
      field === "reason"
        ? { ...base, reason: value }
        : field === "actor.id"
          ? { ...base, actor: { id: value, type: "user" as const } }
          : field === "actor.userAgent"
            ? { ...base, actor: { id: "alice", type: "user" as const, userAgent: value } }
            : field === "target.name"
              ? { ...base, target: { id: "doc-1", type: "doc", name: value } }
              : field === "meta.k"
                ? { ...base, meta: { k: value } }
                : { ...base, meta: { [value]: 1 } };
    let err: unknown = null;
    try {
      await log.append(input);
    } catch (e) {
      err = e;
    }
    const label = `audit append ${field} = ${value.length > 20 ? `${value.length} characters` : JSON.stringify(value)}`;
    if (err !== null) {
      check(err instanceof ValidationError, `${label}: expected a ValidationError, got ${String(err)}`);
      const path = (err as ValidationError).issues[0]?.path ?? "";
      const want = field === "meta key" ? "meta" : field;
      check(path === want || want.startsWith(`${path}.`) || path.startsWith(`${want}`), `${label}: the error names ${path}, not ${want}`);
      const after = await store.head({ tenantId: t });
      check(after?.seq === head?.seq && after?.hash === head?.hash, `${label}: refused, yet the chain changed`);
      return;
    }
    const [rec] = await store.range({ tenantId: t, fromSeq: 2, limit: 1 });
    const got =
      field === "reason"
        ? rec?.reason
        : field === "actor.id"
          ? rec?.actor.id
          : field === "actor.userAgent"
            ? rec?.actor.userAgent
            : field === "target.name"
              ? rec?.target?.name
              : field === "meta.k"
                ? (rec?.meta as { k?: unknown } | undefined)?.k
                : Object.keys(rec?.meta ?? {}).includes(value)
                  ? value
                  : undefined;
    // Documented redaction: a meta string longer than `maxStringLength` (4,096) is kept cut, marked "…[N more]".
    const cut = field === "meta.k" && value.length > 4096 && got === `${value.slice(0, 4096)}…[${value.length - 4096} more]`;
    check(got === value || cut, `${label}: stored, but read back ${JSON.stringify(String(got)).slice(0, 80)}`);
  } finally {
    await log.close();
  }
}

const HOSTILE_AUDIT_FIELDS = ["reason", "actor.id", "actor.userAgent", "target.name", "meta.k", "meta key"] as const;

export function auditStoreCases(opts: AuditConformanceOptions): ConformanceCase[] {
  const cases: ConformanceCase[] = [
    ...HOSTILE_AUDIT_FIELDS.map((field) => ({
      name: `hostile values: the audit log's append (redaction on) ${field}: refused naming the field, chain unchanged, or stored byte-identical`,
      run: () =>
        withStore(opts, async (store) => {
          for (const v of Object.values(HOSTILE_STRINGS)) await appendHostile(store, field, v);
          await fc.assert(
            fc.asyncProperty(HOSTILE_STRING, (v) => appendHostile(store, field, v)),
            { numRuns: 8 },
          );
        }),
    })),
    {
      name: "append stores exactly what was given; head, range and verify read it back",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          check((await store.head({ tenantId: t })) === null, "head of an empty chain must be null");
          const records = await seed(store, t, 12);
          const head = await store.head({ tenantId: t });
          check(
            head?.seq === 12 && head.hash === records[11]!.hash,
            `head: expected seq 12 and the last hash, got ${JSON.stringify(head)}`,
          );
          const back = await store.range({ tenantId: t, fromSeq: 1 });
          check(back.length === 12, `range: expected 12 records, got ${back.length}`);
          back.forEach((r, i) => {
            check(same(r, records[i]), `range[${i}] differs from what was appended: ${JSON.stringify(r)} vs ${JSON.stringify(records[i])}`);
            check(
              typeof r.seq === "number" && typeof r.ts === "string" && r.ts === records[i]!.ts,
              `range[${i}]: seq must be a number and ts the same ISO string`,
            );
            check(
              computeAuditHash(r) === r.hash,
              `range[${i}]: the hash no longer matches after the round trip (key order/number spelling/timestamp changed?)`,
            );
          });
          if (raw) check((await raw.rows(t)).length === 12, "raw backdoor must see the 12 stored rows");
          await expectIntact(store, t, 12, "after append");
        }),
    },
    {
      name: "range honours fromSeq, toSeq and limit, ascending",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await seed(store, t, 20);
          const a = await store.range({ tenantId: t, fromSeq: 5, toSeq: 9 });
          check(
            same(
              a.map((r) => r.seq),
              [5, 6, 7, 8, 9],
            ),
            `range 5..9 gave ${a.map((r) => r.seq).join(",")}`,
          );
          const b = await store.range({ tenantId: t, fromSeq: 15, limit: 3 });
          check(
            same(
              b.map((r) => r.seq),
              [15, 16, 17],
            ),
            `range from 15 limit 3 gave ${b.map((r) => r.seq).join(",")}`,
          );
          check((await store.range({ tenantId: t, fromSeq: 21 })).length === 0, "range past the head must be empty");
        }),
    },
    {
      name: "append rejects bad batches with ValidationError and writes nothing",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await rejectsWith(store.append({ tenantId: t, records: [] }), ValidationError, "empty batch");
          const other = chainOn(null, randomTenant(), entries(1, t));
          await rejectsWith(store.append({ tenantId: t, records: other }), ValidationError, "record of another tenant");
          const gap = chainOn(null, t, entries(3, t));
          gap[2] = { ...gap[2]!, seq: 5 };
          await rejectsWith(store.append({ tenantId: t, records: gap }), ValidationError, "non-consecutive seqs");
          check((await store.head({ tenantId: t })) === null, "a rejected batch must write nothing");
        }),
    },
    {
      name: "a taken seq throws ConflictError and the whole batch is discarded",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const first = await seed(store, t, 3);
          // A writer with a stale head (1): its batch overlaps seq 2..3 and would add 4.
          const stale = chainOn({ seq: 1, hash: first[0]!.hash }, t, entries(3, t));
          await rejectsWith(store.append({ tenantId: t, records: stale }), ConflictError, "overlapping batch");
          const head = await store.head({ tenantId: t });
          check(head?.seq === 3 && head.hash === first[2]!.hash, `a conflicting batch must write nothing (head ${JSON.stringify(head)})`);
          check((await store.range({ tenantId: t, fromSeq: 1 })).length === 3, "no partial write after a conflict");
        }),
    },
    {
      name: "racing appends for the same seq: exactly one winner, the others get ConflictError",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const racers = Array.from({ length: 8 }, () => chainOn(null, t, entries(2, t)));
          const { fulfilled, rejected } = await concurrently(8, (i) => store.append({ tenantId: t, records: racers[i]! }));
          check(fulfilled.length === 1, `expected exactly one winner, got ${fulfilled.length}`);
          check(
            rejected.every((e) => e instanceof ConflictError),
            `losers must get ConflictError, got ${rejected.map(String).join("; ")}`,
          );
          check((await store.range({ tenantId: t, fromSeq: 1 })).length === 2, "only the winner's 2 records may be stored");
          await expectIntact(store, t, 2, "after the race");
        }),
    },
    {
      name: "many audit logs over one store, racing: no fork, no gap, no lost entry",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const logs = Array.from({ length: 6 }, () => createAuditLog({ store, env: "test", buffer: { maxBatch: 7 } }));
          const perLog = 25;
          const { rejected } = await concurrently(logs.length * perLog, (i) =>
            logs[i % logs.length]!.append({
              action: "DATA_ACCESS",
              actor: { id: `w${i % logs.length}`, type: "service" },
              tenantId: t,
              meta: { i },
            }),
          );
          check(rejected.length === 0, `appends failed: ${rejected.map(String).slice(0, 3).join("; ")}`);
          await Promise.all(logs.map((l) => l.close()));
          const rows = await store.range({ tenantId: t, fromSeq: 1, limit: 10_000 });
          check(rows.length === logs.length * perLog, `expected ${logs.length * perLog} entries, found ${rows.length}`);
          const seen = new Set(rows.map((r) => (r.meta as { i: number }).i));
          check(seen.size === logs.length * perLog, "every appended entry must be stored exactly once");
          await expectIntact(store, t, logs.length * perLog, "after racing logs");
        }),
    },
    {
      name: "chains are per tenant; the global chain (null) is separate; nothing leaks across",
      run: () =>
        withStore(opts, async (store) => {
          const a = randomTenant();
          const b = randomTenant();
          await seed(store, a, 4);
          await seed(store, b, 2);
          const globalBefore = (await store.head({ tenantId: null }))?.seq ?? 0;
          await seed(store, null, 1);
          check(
            (await store.head({ tenantId: a }))?.seq === 4 && (await store.head({ tenantId: b }))?.seq === 2,
            "each tenant has its own seq",
          );
          check((await store.head({ tenantId: null }))?.seq === globalBefore + 1, "the global chain has its own seq");
          check(
            (await store.range({ tenantId: b, fromSeq: 1 })).every((r) => r.tenantId === b),
            "range leaked another tenant's rows",
          );
          const q = await store.query({ tenantId: a, limit: 100 });
          check(q.items.length === 4 && q.items.every((r) => r.tenantId === a), "query leaked another tenant's rows");
          check(
            (await store.query({ tenantId: null, limit: 1000 })).items.every((r) => r.tenantId === null),
            "global query returned tenant rows",
          );
          const all: TenantKey[] = [];
          let cursor: string | null = null;
          do {
            const page = await store.chains({ limit: 2, cursor });
            all.push(...page.items);
            cursor = page.nextCursor;
          } while (cursor);
          check(
            all.includes(a) && all.includes(b) && all.includes(null),
            "chains() must list every chain with entries, the global one included",
          );
          check(new Set(all).size === all.length, "chains() paging returned a duplicate");
        }),
    },
    {
      name: "query filters (actor, subject, target, actions, outcome, correlation, time) and keyset paging",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const recs = await seed(store, t, 30);
          const expect = async (
            what: string,
            q: Omit<Parameters<AuditStore["query"]>[0], "tenantId">,
            pred: (r: AuditRecord) => boolean,
          ) => {
            const want = recs.filter(pred).map((r) => r.seq);
            const got: number[] = [];
            let cursor: string | null = null;
            do {
              const page = await store.query({ tenantId: t, ...q, limit: 4, cursor });
              got.push(...page.items.map((r) => r.seq));
              cursor = page.nextCursor;
            } while (cursor);
            const wantOrdered = q.order === "desc" ? [...want].reverse() : want;
            check(same(got, wantOrdered), `${what}: expected seqs ${wantOrdered.join(",")}, got ${got.join(",")}`);
          };
          await expect("actorId", { actorId: "actor-2" }, (r) => r.actor.id === "actor-2");
          await expect("subjectId", { subjectId: "subject-1" }, (r) => r.subject?.id === "subject-1");
          await expect("targetId", { targetId: "doc-8" }, (r) => r.target?.id === "doc-8");
          await expect(
            "actions",
            { actions: ["AUTH_LOGIN", "ROLE_CHANGE"] },
            (r) => r.action === "AUTH_LOGIN" || r.action === "ROLE_CHANGE",
          );
          await expect("empty actions", { actions: [] }, () => false);
          await expect("outcome", { outcome: "failure" }, (r) => r.outcome === "failure");
          await expect("correlationId", { correlationId: "corr-1" }, (r) => r.correlationId === "corr-1");
          const from = recs[10]!.ts;
          const to = recs[20]!.ts;
          await expect("time range [from, to)", { from, to }, (r) => r.ts >= from && r.ts < to);
          await expect("desc order", { order: "desc", actorId: "svc-1" }, (r) => r.actor.id === "svc-1");
          await expect(
            "combined filters",
            { actions: ["DATA_ACCESS"], outcome: "failure" },
            (r) => r.action === "DATA_ACCESS" && r.outcome === "failure",
          );
        }),
    },
    {
      name: "query paging is complete and stable while entries are appended",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await seed(store, t, 10);
          const got: number[] = [];
          let cursor: string | null = null;
          do {
            const page = await store.query({ tenantId: t, limit: 3, cursor });
            got.push(...page.items.map((r) => r.seq));
            cursor = page.nextCursor;
            if (got.length === 3) await seed(store, t, 2);
          } while (cursor);
          check(new Set(got).size === got.length, "paging returned a duplicate");
          check(
            same(got.slice(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            `entries present at start must all be returned in order, got ${got.join(",")}`,
          );
        }),
    },
    {
      name: "verify detects a modified entry (content changed, hash left) at its seq",
      requires: [],
      run: () =>
        withStore(opts, async (store, rawOpt) => {
          const raw = needRaw(rawOpt);
          const t = randomTenant();
          const recs = await seed(store, t, 20);
          await raw.update(t, 9, { meta: { ...recs[8]!.meta, zeta: 999 } });
          await expectTamper(store, t, "modified", 9, "meta changed");
          const u = randomTenant();
          await seed(store, u, 5);
          await raw.update(u, 2, { outcome: "success", action: "AUTH_LOGOUT" });
          await expectTamper(store, u, "modified", 2, "action changed");
        }),
    },
    {
      name: "verify detects a removed entry at its seq",
      run: () =>
        withStore(opts, async (store, rawOpt) => {
          const raw = needRaw(rawOpt);
          const t = randomTenant();
          await seed(store, t, 20);
          await raw.delete(t, 11);
          await expectTamper(store, t, "removed", 11, "row deleted");
          // Deleting and renumbering the rest to hide the gap is still a removal at that seq.
          const u = randomTenant();
          await seed(store, u, 10);
          await raw.delete(u, 4);
          for (let s = 5; s <= 10; s++) await raw.update(u, s, { seq: s - 1 });
          await expectTamper(store, u, "removed", 4, "row deleted and later rows renumbered");
        }),
    },
    {
      name: "verify detects an inserted (forged) entry at its seq",
      run: () =>
        withStore(opts, async (store, rawOpt) => {
          const raw = needRaw(rawOpt);
          const t = randomTenant();
          const recs = await seed(store, t, 12);
          // Make room at seq 6 the way an attacker would (shift later rows up), then insert a
          // forged entry with a self-consistent hash linked to seq 5.
          for (let s = 12; s >= 6; s--) await raw.update(t, s, { seq: s + 1 });
          const [forged] = chainOn({ seq: 5, hash: recs[4]!.hash }, t, entries(1, t, { action: "ROLE_CHANGE" }));
          await raw.insert(forged!);
          await expectTamper(store, t, "inserted", 6, "forged entry");
          // Appended past the head with a bogus hash: also an insertion.
          const u = randomTenant();
          const urecs = await seed(store, u, 6);
          for (let s = 6; s >= 3; s--) await raw.update(u, s, { seq: s + 1 });
          const [bogus] = chainOn({ seq: 2, hash: "f".repeat(64) }, u, entries(1, u));
          await raw.insert({ ...bogus!, hash: "0".repeat(64) });
          await expectTamper(store, u, "inserted", 3, "forged entry with a bogus hash");
          check(urecs.length === 6, "seeded");
        }),
    },
    {
      name: "verify detects reordered entries at the first moved seq",
      run: () =>
        withStore(opts, async (store, rawOpt) => {
          const raw = needRaw(rawOpt);
          const t = randomTenant();
          await seed(store, t, 15);
          await raw.swap(t, 7, 8);
          await expectTamper(store, t, "reordered", 7, "two neighbours swapped");
          const u = randomTenant();
          await seed(store, u, 15);
          await raw.swap(u, 3, 12);
          await expectTamper(store, u, "reordered", 3, "distant entries swapped");
        }),
    },
    {
      name: "verify detects truncation after a signed checkpoint, and a rewrite with recomputed hashes",
      run: () =>
        withStore(opts, async (store, rawOpt) => {
          const raw = needRaw(rawOpt);
          const keys = generateCheckpointKeys();
          const t = randomTenant();
          await seed(store, t, 10);
          const head = (await store.head({ tenantId: t }))!;
          const cp = signCheckpoint({
            heads: [{ tenantId: t, ...head }],
            privateKey: keys.privateKey,
            createdAt: new Date().toISOString(),
          });
          const anchors = cp.payload.heads.filter((h) => h.tenantId === t).map((h) => ({ seq: h.seq, hash: h.hash }));
          for (const s of [10, 9, 8]) await raw.delete(t, s);
          const plain = await verifyStoreChain({ store, tenantId: t });
          check(plain.ok, "without a checkpoint, a cut tail is invisible (documented limit)");
          await expectTamper(store, t, "truncated", 8, "tail removed after a checkpoint", anchors);

          // Full rewrite: change seq 3 and recompute every later hash, as a DBA could.
          const u = randomTenant();
          await seed(store, u, 8);
          const uhead = (await store.head({ tenantId: u }))!;
          const ucp = signCheckpoint({
            heads: [{ tenantId: u, ...uhead }],
            privateKey: keys.privateKey,
            createdAt: new Date().toISOString(),
          });
          const rows = await raw.rows(u);
          let prev = rows[1]!.hash;
          for (const r of rows.slice(2)) {
            const changed: AuditRecord = { ...r, prevHash: prev, ...(r.seq === 3 ? { actor: { ...r.actor, id: "someone-else" } } : {}) };
            changed.hash = computeAuditHash(changed);
            await raw.update(u, r.seq, { prevHash: changed.prevHash, actor: changed.actor, hash: changed.hash });
            prev = changed.hash;
          }
          check((await verifyStoreChain({ store, tenantId: u })).ok, "a recomputed chain passes without a checkpoint (documented limit)");
          await expectTamper(store, u, "rewritten", 8, "recomputed chain vs checkpoint", [
            { seq: ucp.payload.heads[0]!.seq, hash: ucp.payload.heads[0]!.hash },
          ]);
        }),
    },
    {
      name: "close() makes later calls reject with UnavailableError",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await seed(store, t, 1);
          await store.close();
          await store.close();
          await rejectsWith(store.head({ tenantId: t }), UnavailableError, "head after close");
          await rejectsWith(
            store.append({ tenantId: t, records: chainOn(null, t, entries(1, t)) }),
            UnavailableError,
            "append after close",
          );
        }),
    },
  ];

  const createKeys = opts.createKeys;
  if (createKeys) {
    cases.push(
      {
        name: "SubjectKeyStore: concurrent getOrCreate stores exactly one key; destroy deletes every generation",
        run: () =>
          withStore(opts, async () => {
            const keys = await createKeys();
            try {
              const t = randomTenant();
              const mk = (i: number) => ({
                keyId: `${t}-k${i}`,
                tenantId: t,
                subjectId: "user-1",
                key: new Uint8Array(32).fill(i + 1),
                createdAt: new Date().toISOString(),
              });
              const { fulfilled } = await concurrently(6, (i) => keys.getOrCreate({ candidate: mk(i) }));
              check(new Set(fulfilled.map((k) => k.keyId)).size === 1, "every caller must get the same key");
              const k = fulfilled[0]!;
              check(k.key.length === 32, "the key must read back as 32 bytes");
              const got = await keys.get({ tenantId: t, keyId: k.keyId });
              check(got && Buffer.from(got.key).equals(Buffer.from(k.key)), "get must return the stored key bytes");
              check(
                (await keys.get({ tenantId: randomTenant(), keyId: k.keyId })) === null,
                "a key must not be readable from another tenant",
              );
              check((await keys.destroy({ tenantId: t, subjectId: "user-1" })) === 1, "destroy must report 1 key");
              check((await keys.get({ tenantId: t, keyId: k.keyId })) === null, "a destroyed key must be gone");
              check((await keys.destroy({ tenantId: t, subjectId: "user-1" })) === 0, "destroy is idempotent");
              const fresh = await keys.getOrCreate({ candidate: mk(9) });
              check(fresh.keyId !== k.keyId, "after destroy, a new key generation is created");
            } finally {
              await keys.close();
            }
          }),
      },
      {
        name: "crypto-shredding: forgetSubject erases personal fields, the chain still verifies",
        run: () =>
          withStore(opts, async (store) => {
            const keys = await createKeys();
            try {
              const t = randomTenant();
              const log = createAuditLog({ store, keys, env: "test" });
              await log.append({
                action: "DATA_ACCESS",
                tenantId: t,
                actor: { id: "doc-1", ip: "198.51.100.4" },
                subject: { id: "patient-9" },
                meta: { email: "p9@example.com", chart: "A" },
              });
              await log.append({ action: "AUTH_LOGIN", tenantId: t, actor: { id: "patient-7", ip: "198.51.100.5" } });
              const stored = await store.range({ tenantId: t, fromSeq: 1 });
              check(
                !JSON.stringify(stored).includes("p9@example.com") && !JSON.stringify(stored).includes("198.51.100.4"),
                "personal fields must not be stored in clear",
              );
              const before = await log.query({ tenantId: t });
              check(
                (before.items[0]!.meta as { email?: string }).email === "p9@example.com" && before.items[0]!.actor.ip === "198.51.100.4",
                "reads must decrypt personal fields",
              );
              await log.forgetSubject({ tenantId: t, subjectId: "patient-9", actor: { id: "dpo" } });
              const after = await log.query({ tenantId: t });
              const erased = after.items[0]!;
              check((erased.meta as { email?: string; chart?: string }).email === "[ERASED]", "the subject's fields must read as erased");
              // The actor's IP is the actor's own data (sealed under the actor's key), not the subject's.
              check(erased.actor.ip === "198.51.100.4", "the acting doctor's IP stays readable after the patient is forgotten");
              check(
                (erased.meta as { chart?: string }).chart === "A" && erased.erased?.includes("meta.email"),
                "non-personal fields stay, erased ones are listed",
              );
              check(after.items[1]!.actor.ip === "198.51.100.5", "another subject's fields stay readable");
              await log.forgetSubject({ tenantId: t, subjectId: "doc-1", actor: { id: "dpo" } });
              const afterDoc = await log.query({ tenantId: t });
              check(afterDoc.items[0]!.actor.ip === "[ERASED]", "forgetting the actor erases their IP on entries about someone else");
              const v = await log.verify({ tenantId: t });
              check(v.ok && v.checked === 4, `the chain must still verify after erasure: ${v.problem?.message}`);
              await log.close();
            } finally {
              await keys.close();
            }
          }),
      },
    );
  }
  return cases;
}

/** Registers the AuditStore conformance suite with vitest. */
export function describeAuditStoreConformance(opts: AuditConformanceOptions): void {
  registerCases(
    `${opts.name}: AuditStore conformance`,
    [...auditStoreCases(opts), ...guardCases("audit", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
