import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { CSV_COLUMNS, createAuditLog, exportCsv, exportJsonl, generateCheckpointKeys, verifyExport, type AuditLog } from "@ops/audit";
import { memory } from "./helpers.js";

const keys = generateCheckpointKeys();
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ops-audit-export-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seeded(n = 40): Promise<{ log: AuditLog; store: ReturnType<typeof memory>["store"] }> {
  const { store, keys: subjectKeys } = memory();
  // reason stays in clear here (it is personal by default): the CSV test checks its quoting.
  const log = createAuditLog({
    store,
    keys: subjectKeys,
    env: "prod",
    personalFields: ["actor.ip", "actor.userAgent", "meta.**.email"],
    checkpoints: { privateKey: keys.privateKey, sinks: [] },
  });
  for (let i = 0; i < n; i++)
    await log.append({
      action: i % 2 ? "DATA_ACCESS" : "AUTH_LOGIN",
      tenantId: "acme",
      actor: { id: `user-${i % 3}`, ip: "198.51.100.1" },
      outcome: i % 7 === 0 ? "failure" : "success",
      reason: i === 3 ? 'multi\nline, "quoted"' : undefined,
      meta: { i, formula: i === 5 ? '=HYPERLINK("http://x")' : "plain", note: i === 6 ? "'quoted start" : "-" },
    } as never);
  await log.checkpoint();
  return { log, store };
}

const lines = (s: string) => s.trim().split("\n");

describe("export as JSONL", () => {
  it("streams header, entries with chain fields, and a trailer; verifies offline with the public key", async () => {
    const { log } = await seeded();
    const out = await text(exportJsonl(log, { tenantId: "acme" }));
    const ls = lines(out).map((l) => JSON.parse(l));
    expect(ls[0]).toMatchObject({
      type: "header",
      format: "ops-audit-export",
      tenantId: "acme",
      chain: true,
      fromSeq: 1,
      toSeq: 40,
      prevHash: "",
    });
    expect(ls[0].checkpoints).toHaveLength(1);
    expect(ls[1]).toMatchObject({ type: "entry", record: { seq: 1, prevHash: "", hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(ls.at(-1)).toMatchObject({ type: "end", count: 40, lastSeq: 40 });
    expect(await verifyExport(Readable.from([out]), { publicKey: keys.publicKey })).toMatchObject({
      ok: true,
      chain: true,
      checked: 40,
      checkpointsVerified: 1,
      anchorsChecked: 1,
    });
  });

  it("embeds only this tenant's head of a checkpoint, with a Merkle proof: no other tenant is named", async () => {
    const { log } = await seeded(3);
    for (const t of ["other-tenant-1", "other-tenant-2", "other-tenant-3"])
      await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: t });
    await log.checkpoint();
    const out = await text(exportJsonl(log, { tenantId: "acme" }));
    expect(out).not.toContain("other-tenant");
    const header = JSON.parse(lines(out)[0]!);
    expect(header.checkpoints[0]).toMatchObject({ head: { tenantId: "acme", seq: 3 }, headCount: 4 });
    expect(await verifyExport(Readable.from([out]), { publicKey: keys.publicKey })).toMatchObject({ ok: true, anchorsChecked: 1 });
  });

  it("is a real stream: it reads the store page by page", async () => {
    const { log, store } = await seeded(25);
    let reads = 0;
    const range = store.range.bind(store);
    store.range = async (input) => {
      reads++;
      return range(input);
    };
    const out = await text(exportJsonl(log, { tenantId: "acme", pageSize: 10 }));
    expect(lines(out)).toHaveLength(27);
    expect(reads).toBeGreaterThanOrEqual(3);
  });

  it("detects each kind of tampering with the exported file", async () => {
    const { log } = await seeded(20);
    const good = lines(await text(exportJsonl(log, { tenantId: "acme" })));
    const check = async (ls: string[], pk = keys.publicKey) =>
      (await verifyExport(Readable.from([ls.join("\n") + "\n"]), { publicKey: pk })).problem;
    const edit = (i: number, f: (r: Record<string, unknown>) => void) => {
      const ls = [...good];
      const o = JSON.parse(ls[i]!);
      f(o.record);
      ls[i] = JSON.stringify(o);
      return ls;
    };
    expect(await check(edit(5, (r) => ((r.meta as { i: number }).i = 999)))).toMatchObject({ kind: "modified", seq: 5 });
    expect(await check(good.filter((_, i) => i !== 8))).toMatchObject({ kind: "removed", seq: 8 });
    const swapped = [...good];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(await check(swapped)).toMatchObject({ kind: "reordered", seq: 3 });
    expect(await check(good.slice(0, -1))).toMatchObject({ kind: "truncated", seq: 21 });
    expect(await check([...good.slice(0, 15), good.at(-1)!])).toMatchObject({ kind: "truncated" });
    const forgedCp = JSON.parse(good[0]!);
    forgedCp.checkpoints[0].head.seq = 19;
    expect(await check([JSON.stringify(forgedCp), ...good.slice(1)])).toMatchObject({ kind: "signature" });
    expect(await check(good, generateCheckpointKeys().publicKey)).toMatchObject({ kind: "signature" });
    expect(await check(["not json"])).toMatchObject({ kind: "format" });
  });

  it("filtered exports check each entry's hash; exports and queries can be audited (AUDIT_EXPORT)", async () => {
    const { log, store } = await seeded(12);
    const out = await text(exportJsonl(log, { tenantId: "acme", actorId: "user-1", auditedAs: { id: "auditor-1" } }));
    const ls = lines(out).map((l) => JSON.parse(l));
    expect(ls[0]).toMatchObject({ chain: false, filters: { tenantId: "acme", actorId: "user-1" } });
    expect(ls.slice(1, -1).every((l) => l.record.actor.id === "user-1")).toBe(true);
    expect(await verifyExport(Readable.from([out]))).toMatchObject({ ok: true, chain: false, checked: 4 });
    const head = await store.head({ tenantId: "acme" });
    const [audit] = await store.range({ tenantId: "acme", fromSeq: head!.seq });
    expect(audit).toMatchObject({
      action: "AUDIT_EXPORT",
      actor: { id: "auditor-1" },
      meta: { kind: "export", filters: { actorId: "user-1" } },
    });
    await log.query({ tenantId: "acme", action: "AUTH_LOGIN", auditedAs: { id: "auditor-2", type: "user" } });
    const [q] = await store.range({ tenantId: "acme", fromSeq: head!.seq + 1 });
    expect(q).toMatchObject({ action: "AUDIT_EXPORT", actor: { id: "auditor-2" }, meta: { kind: "query" } });
  });

  it("rejects bad filters with ValidationError", async () => {
    const { log } = await seeded(1);
    await expect(text(exportJsonl(log, { tenantId: "acme", from: "last week" }))).rejects.toThrow(ValidationError);
    await expect(log.query({ tenantId: "acme", limit: 0 })).rejects.toThrow(/limit: expected 1\.\.1000/);
    await expect(log.query({ tenantId: "acme", actions: ["lower"] })).rejects.toThrow(/actions\[0\]/);
  });
});

describe("export as CSV", () => {
  it("has the chain columns, quotes safely, defuses formulas, and verifies", async () => {
    const { log } = await seeded(10);
    const out = await text(exportCsv(log, { tenantId: "acme" }));
    expect(out.split("\r\n")[0]).toBe(CSV_COLUMNS.join(","));
    expect(out).toContain('"multi\nline, ""quoted"""');
    expect(out).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(await verifyExport(Readable.from([out]), { format: "csv" })).toMatchObject({ ok: true, checked: 10 });
    const tampered = out.replace('"{""i"":4,', '"{""i"":44,');
    expect(tampered).not.toBe(out);
    expect((await verifyExport(Readable.from([tampered]), { format: "csv" })).problem).toMatchObject({ kind: "modified", seq: 5 });
  });
});

describe("erasure and exports", () => {
  it("after forgetSubject, queries show erased fields and the export still verifies", async () => {
    const { log } = await seeded(6);
    const before = await log.query({ tenantId: "acme", actorId: "user-1" });
    expect(before.items[0]!.actor.ip).toBe("198.51.100.1");
    await log.forgetSubject({ tenantId: "acme", subjectId: "user-1", actor: { id: "dpo" }, reason: "GDPR art. 17 request" });
    const after = await log.query({ tenantId: "acme", actorId: "user-1" });
    expect(after.items.every((r) => r.actor.ip === "[ERASED]" && r.erased?.includes("actor.ip"))).toBe(true);
    expect((await log.query({ tenantId: "acme", actorId: "user-2" })).items[0]!.actor.ip).toBe("198.51.100.1");
    const out = await text(exportJsonl(log, { tenantId: "acme", checkpoints: [] }));
    expect(out).not.toContain("198.51.100.1");
    expect(await verifyExport(Readable.from([out]))).toMatchObject({ ok: true, checked: 7 });
    await expect(log.forgetSubject({ tenantId: "acme", subjectId: "", actor: { id: "dpo" } })).rejects.toThrow(/subjectId/);
  });
});

describe("the ops-audit CLI, as a real child process", () => {
  const run = promisify(execFile);
  const root = resolve(import.meta.dirname, "../../..");
  const cli = (args: string[]) =>
    // The local tsx binary (what `npx tsx` resolves to) without npx's start-up cost.
    run(join(root, "node_modules", ".bin", "tsx"), ["--conditions=@ops/source", "packages/audit/src/cli.ts", ...args], { cwd: root }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it("exit 0 for an intact export, 1 for a tampered one, 2 for bad usage", async () => {
    const { log } = await seeded(15);
    const file = join(dir, "export.jsonl");
    const pem = join(dir, "audit-public.pem");
    await writeFile(file, await text(exportJsonl(log, { tenantId: "acme" })));
    await writeFile(pem, keys.publicKey);
    const ok = await cli(["verify", file, "--public-key", pem]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^OK: 15 entries verified \(seq 1\.\.15\); chain links checked; 1 signed checkpoint\(s\) verified, 1 position\(s\) matched/,
    );

    const ls = (await readFile(file, "utf8")).trim().split("\n");
    const o = JSON.parse(ls[7]!);
    o.record.action = "DATA_DELETE";
    ls[7] = JSON.stringify(o);
    const bad = join(dir, "tampered.jsonl");
    await writeFile(bad, ls.join("\n") + "\n");
    const tampered = await cli(["verify", bad, "--public-key", pem, "--json"]);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, problem: { kind: "modified", seq: 7 } });

    const csv = join(dir, "export.csv");
    await writeFile(csv, await text(exportCsv(log, { tenantId: "acme" })));
    expect((await cli(["verify", csv])).code).toBe(0);

    expect((await cli(["verify"])).code).toBe(2);
    expect((await cli(["verify", file, "--public-key", file])).code).toBe(2);
    expect((await cli(["verify", join(dir, "missing.jsonl")])).code).toBe(2);
  }, 120_000);
});
