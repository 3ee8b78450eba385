// The tamper battery of @ops/audit on chains a PostgreSQL-backed AuditStore wrote: rows changed in
// the table directly (as the table owner, triggers off), then both `verify` against the store and
// an export of that store (JSONL and CSV, through `verifyExport` and the CLI) must report it. Two
// modes: a plain hash chain anchored by signed checkpoints, and keyed entries (HMAC) plus
// checkpoints. Shared by the PostgreSQL store's own test and the Drizzle and Prisma shims' tests
// (imported by relative path), each handing in a factory for a fresh store on its own schema.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord, AuditStore } from "@ops/core";
import {
  chainOn,
  computeAuditHash,
  createAuditLog,
  exportCsv,
  exportJsonl,
  fileCheckpointSink,
  generateCheckpointKeys,
  makeAuditEntry,
  verifyExport,
  type AuditLog,
  type ChainableEntry,
  type FileCheckpointSink,
  type SignedCheckpoint,
} from "@ops/audit";
import { main as cli } from "@ops/audit/cli";
import { requireService, type AuditRawBackdoor } from "@ops/testkit";

export type TamperMode = "checkpoints" | "keyed";

/** A fresh, migrated database for one mode: the store under test and a raw backdoor on its table. */
export interface TamperTarget {
  audit: AuditStore;
  raw: AuditRawBackdoor;
  /** Closes the store's connections and drops what `open` created. */
  close(): Promise<void>;
}

/**
 * Registers the battery under `name` (e.g. "adapter-drizzle (node-postgres)"): `open(mode)` is
 * called once per mode in `beforeAll`. Call it once per test file (its hooks are the file's).
 * Skips loudly when PostgreSQL is absent (fails under CI).
 */
export async function describeTamperBattery(name: string, open: (mode: TamperMode) => Promise<TamperTarget>): Promise<void> {
  const up = await requireService("postgres");
  const keys = generateCheckpointKeys();
  const mac = { keyId: "k1", key: randomBytes(32) };

  type Mode = TamperMode;

  interface Setup {
    mode: Mode;
    target: TamperTarget;
    log: AuditLog;
    raw: AuditRawBackdoor;
    sink: FileCheckpointSink;
    cps: string;
  }

  // The tamper kind every check reports (verify, JSONL export, CSV export), per mode and case.
  // Keyed mode names a recomputed row "inserted": its MAC is wrong, whatever its SHA-256 says.
  const EXPECTED: Record<Mode, Record<string, string>> = {
    checkpoints: {
      edit: "modified",
      editRehash: "removed",
      delete: "removed",
      insert: "inserted",
      reorder: "reordered",
      truncateTail: "truncated",
      cutHead: "removed",
      rewrite: "rewritten",
      renumber: "rewritten",
      forgeMiddle: "removed",
      moved: "modified",
      movedFrom: "removed",
    },
    keyed: {
      edit: "modified",
      editRehash: "inserted",
      delete: "removed",
      insert: "inserted",
      reorder: "reordered",
      truncateTail: "truncated",
      cutHead: "removed",
      rewrite: "inserted",
      renumber: "inserted",
      forgeMiddle: "inserted",
      moved: "modified",
      movedFrom: "removed",
      forgeHead: "inserted",
      forgeHeadMac: "modified",
    },
  };

  let dir = "";
  let pem = "";
  let macFile = "";
  const setups = new Map<Mode, Setup>();
  let tenants = 0;

  /** A fresh tenant chain of 20 entries in `s`, checkpointed after 12 and after 20. */
  async function chain(s: Setup): Promise<string> {
    const t = `t${++tenants}_${s.mode}`;
    for (let i = 1; i <= 20; i++) {
      await s.log.append({ action: "DATA_ACCESS", tenantId: t, actorUserId: `u${i % 3}`, reason: `read ${i}`, meta: { i } });
      if (i === 12 || i === 20) await s.log.checkpoint();
    }
    return t;
  }

  /** What an attacker without the keys writes: an entry chained on `prev` with a plain SHA-256 hash. */
  function forged(tenantId: string, prev: AuditRecord | null, seqFix?: number): AuditRecord {
    const entry = {
      ...makeAuditEntry({ action: "ROLE_CHANGE", tenantId, actorUserId: "mallory", env: "prod" }),
      id: `aud_forged_${tenants}`,
    };
    const [r] = chainOn(prev, tenantId, [entry as ChainableEntry], computeAuditHash);
    return seqFix === undefined ? r! : { ...r!, seq: seqFix };
  }

  /** Recomputes the SHA-256 chain of `tenantId` from `fromSeq` to its head, in the table. */
  async function rechain(s: Setup, tenantId: string, fromSeq: number): Promise<void> {
    const rows = await s.raw.rows(tenantId);
    let prev = rows.find((r) => Number(r.seq) === fromSeq - 1) ?? null;
    for (const r of rows.filter((x) => Number(x.seq) >= fromSeq)) {
      const next = { ...r, prevHash: prev ? prev.hash : r.prevHash };
      next.hash = computeAuditHash(next);
      await s.raw.update(tenantId, Number(r.seq), { prevHash: next.prevHash, hash: next.hash });
      prev = next;
    }
  }

  /** Every way of checking: the store's verify, and JSONL and CSV exports through the library and the CLI. */
  async function expectDetected(s: Setup, tenantId: string, label: string): Promise<string[]> {
    const published: SignedCheckpoint[] = await s.sink.readAll();
    const kinds: string[] = [];
    const v = await s.log.verify({ tenantId, checkpoints: published });
    expect(v.ok, `${label}: verify from the store`).toBe(false);
    kinds.push(`verify:${v.problem?.kind}`);
    const macOpts = s.mode === "keyed" ? { macKeys: [mac], requireMac: true } : {};
    const macArgs = s.mode === "keyed" ? ["--mac-key", `k1=${macFile}`, "--require-mac"] : [];
    for (const format of ["jsonl", "csv"] as const) {
      const content = await text(format === "jsonl" ? exportJsonl(s.log, { tenantId }) : exportCsv(s.log, { tenantId }));
      const lib = await verifyExport(Readable.from([content]), { publicKey: keys.publicKey, checkpoints: published, format, ...macOpts });
      expect(lib.ok, `${label}: verifyExport ${format}`).toBe(false);
      kinds.push(`${format}:${lib.problem?.kind}`);
      const file = join(dir, `${tenantId}-${label.replace(/\W+/g, "_")}.${format}`);
      await writeFile(file, content);
      const code = await cli(
        ["verify", file, "--public-key", pem, "--checkpoints", s.cps, ...macArgs],
        () => {},
        () => {},
      );
      expect(code, `${label}: CLI on the ${format} export`).toBe(1);
    }
    return kinds;
  }

  /** The same checks pass on an untouched chain (so a failure above is the tampering, not the setup). */
  async function expectIntact(s: Setup, tenantId: string): Promise<void> {
    const published = await s.sink.readAll();
    const v = await s.log.verify({ tenantId, checkpoints: published });
    expect(v, JSON.stringify(v.problem)).toMatchObject({ ok: true, checked: 20 });
    const macOpts = s.mode === "keyed" ? { macKeys: [mac], requireMac: true } : {};
    const macArgs = s.mode === "keyed" ? ["--mac-key", `k1=${macFile}`, "--require-mac"] : [];
    for (const format of ["jsonl", "csv"] as const) {
      const content = await text(format === "jsonl" ? exportJsonl(s.log, { tenantId }) : exportCsv(s.log, { tenantId }));
      const lib = await verifyExport(Readable.from([content]), { publicKey: keys.publicKey, checkpoints: published, format, ...macOpts });
      expect(lib.ok, JSON.stringify(lib.problems)).toBe(true);
      const file = join(dir, `${tenantId}-intact.${format}`);
      await writeFile(file, content);
      expect(
        await cli(
          ["verify", file, "--public-key", pem, "--checkpoints", s.cps, ...macArgs],
          () => {},
          () => {},
        ),
      ).toBe(0);
    }
  }

  beforeAll(async () => {
    if (!up) return;
    dir = await mkdtemp(join(tmpdir(), "ops-pg-battery-"));
    pem = join(dir, "pub.pem");
    macFile = join(dir, "mac.key");
    await writeFile(pem, keys.publicKey);
    await writeFile(macFile, mac.key);
    for (const mode of ["checkpoints", "keyed"] as const) {
      const target = await open(mode);
      const cps = join(dir, `checkpoints-${mode}.jsonl`);
      const sink = fileCheckpointSink({ path: cps });
      const log = createAuditLog({
        store: target.audit,
        env: "prod",
        checkpoints: { privateKey: keys.privateKey, sinks: [sink] },
        ...(mode === "keyed" ? { mac } : {}),
      });
      setups.set(mode, { mode, target, log, raw: target.raw, sink, cps });
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of setups.values()) {
      await s.log.close();
      await s.target.close();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const mode of ["checkpoints", "keyed"] as const) {
    describe.skipIf(!up)(`${name}: tamper battery on the table (${mode})`, () => {
      const s = () => setups.get(mode)!;
      const seen: Record<string, string[]> = {};
      afterAll(() => {
        if (!up) return;
        const want = Object.fromEntries(
          Object.entries(EXPECTED[mode]).map(([k, kind]) => [k, [`verify:${kind}`, `jsonl:${kind}`, `csv:${kind}`]]),
        );
        expect({ ...seen, deletedChain: undefined }).toEqual({ ...want, deletedChain: undefined });
      });

      it("an untouched chain passes every check", async () => {
        await expectIntact(s(), await chain(s()));
      });

      it("1. a field edited in place", async () => {
        const t = await chain(s());
        await s().raw.update(t, 5, { action: "DATA_DELETE" });
        seen.edit = await expectDetected(s(), t, "edit");
      });

      it("2. a field edited and that row's hash recomputed", async () => {
        const t = await chain(s());
        const row = (await s().raw.rows(t))[6]!;
        const changed = { ...row, reason: "nothing to see" };
        await s().raw.update(t, 7, { reason: changed.reason, hash: computeAuditHash(changed) });
        seen.editRehash = await expectDetected(s(), t, "edit + rehash");
      });

      it("3. a row deleted in the middle", async () => {
        const t = await chain(s());
        await s().raw.delete(t, 8);
        seen.delete = await expectDetected(s(), t, "delete");
      });

      it("4. a row inserted in the middle (later rows moved up one seq)", async () => {
        const t = await chain(s());
        for (let seq = 20; seq >= 10; seq--) await s().raw.update(t, seq, { seq: seq + 1 });
        const prev = (await s().raw.rows(t)).find((r) => Number(r.seq) === 9)!;
        await s().raw.insert(forged(t, prev));
        seen.insert = await expectDetected(s(), t, "insert");
      });

      it("5. two rows reordered", async () => {
        const t = await chain(s());
        await s().raw.swap(t, 3, 4);
        seen.reorder = await expectDetected(s(), t, "reorder");
      });

      it("6. the tail truncated (below the newest checkpoint)", async () => {
        const t = await chain(s());
        for (const seq of [20, 19, 18]) await s().raw.delete(t, seq);
        seen.truncateTail = await expectDetected(s(), t, "truncate tail");
      });

      it("7. the head of the chain cut (first rows deleted)", async () => {
        const t = await chain(s());
        for (const seq of [1, 2, 3]) await s().raw.delete(t, seq);
        seen.cutHead = await expectDetected(s(), t, "cut head");
      });

      it("8. an edit with every later hash recomputed (a consistent rewrite, no key)", async () => {
        const t = await chain(s());
        await s().raw.update(t, 6, { reason: "rewritten history" });
        await rechain(s(), t, 6);
        seen.rewrite = await expectDetected(s(), t, "rewrite");
      });

      it("9. the whole chain renumbered after a delete, hashes recomputed (no gap left)", async () => {
        const t = await chain(s());
        await s().raw.delete(t, 10);
        for (let seq = 11; seq <= 20; seq++) await s().raw.update(t, seq, { seq: seq - 1 });
        await rechain(s(), t, 10);
        seen.renumber = await expectDetected(s(), t, "delete + renumber + rehash");
      });

      it("10. a row forged in a middle position with a recomputed hash, no key", async () => {
        const t = await chain(s());
        const rows = await s().raw.rows(t);
        const f = forged(t, rows[13]!, 15);
        await s().raw.delete(t, 15);
        await s().raw.insert({ ...f, prevHash: rows[13]!.hash, hash: computeAuditHash({ ...f, prevHash: rows[13]!.hash }) });
        seen.forgeMiddle = await expectDetected(s(), t, "forge middle");
      });

      it("11. a row moved in from another tenant's chain", async () => {
        const t = await chain(s());
        const other = await chain(s());
        const row = (await s().raw.rows(other))[4]!;
        await s().raw.delete(other, 5);
        await s().raw.delete(t, 5);
        await s().raw.insert({ ...row, tenantId: t });
        seen.moved = await expectDetected(s(), t, "moved row");
        seen.movedFrom = await expectDetected(s(), other, "moved row (source)");
      });

      it("12. a chain deleted whole: verifyAll with the published log reports it", async () => {
        const t = await chain(s());
        await expectIntact(s(), t);
        for (let seq = 20; seq >= 1; seq--) await s().raw.delete(t, seq);
        const results = await s().log.verifyAll({ checkpoints: await s().sink.readAll() });
        const gone = results.find((r) => r.tenantId === t);
        expect(gone?.ok).toBe(false);
        expect(gone?.problem?.kind).toBe("truncated");
        seen.deletedChain = [`verifyAll:${gone?.problem?.kind}`];
      });

      if (mode === "keyed") {
        it("13. a row forged at the head with a correct SHA-256 hash, after the newest checkpoint", async () => {
          const t = await chain(s());
          const head = (await s().raw.rows(t)).at(-1)!;
          await s().raw.insert(forged(t, head));
          seen.forgeHead = await expectDetected(s(), t, "forge head");
        });

        it("14. a row forged at the head with a made-up MAC", async () => {
          const t = await chain(s());
          const head = (await s().raw.rows(t)).at(-1)!;
          const f = forged(t, head);
          await s().raw.insert({ ...f, hash: `hmac:k1:${randomBytes(32).toString("hex")}` });
          seen.forgeHeadMac = await expectDetected(s(), t, "forge head (fake MAC)");
        });
      } else {
        it("limit of this mode: a row forged at the head after the newest checkpoint, with a correct hash, verifies", async () => {
          // Documented in the README: the row chains correctly and no signature covers it yet (the
          // next checkpoint would sign it). Keyed entries catch it at once (case 13 in keyed mode).
          const t = await chain(s());
          const head = (await s().raw.rows(t)).at(-1)!;
          await s().raw.insert(forged(t, head));
          expect((await s().log.verify({ tenantId: t, checkpoints: await s().sink.readAll() })).ok).toBe(true);
        });
      }
    });
  }
}
