// Every kind of tampering with an export (JSONL and CSV), a published checkpoint log and a store,
// detected by `verifyExport` and by the CLI whenever a key-backed anchor covers the data.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "@ops/core";
import {
  computeAuditHash,
  createAuditLog,
  exportCsv,
  exportJsonl,
  fileCheckpointSink,
  generateCheckpointKeys,
  verifyCheckpointLog,
  verifyExport,
  type AuditLog,
  type SignedCheckpoint,
  type VerifyExportOptions,
} from "@ops/audit";
import { main as cli } from "../src/cli.js";
import { csvRowToRecord, parseCsv, recordToCsvRow } from "../src/csv.js";
import { memory } from "./helpers.js";

const keys = generateCheckpointKeys();
let dir = "";
let pem = "";
let cpsPath = "";
let log: AuditLog;
let store: ReturnType<typeof memory>["store"];
let published: SignedCheckpoint[] = [];
let jsonl: string[] = [];
let csv = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ops-audit-battery-"));
  pem = join(dir, "pub.pem");
  cpsPath = join(dir, "checkpoints.jsonl");
  await writeFile(pem, keys.publicKey);
  const m = memory();
  store = m.store;
  const sink = fileCheckpointSink({ path: cpsPath });
  log = createAuditLog({ store, env: "prod", clock: m.clock, checkpoints: { privateKey: keys.privateKey, sinks: [sink] } });
  for (let i = 1; i <= 12; i++) await log.append({ action: "DATA_ACCESS", tenantId: "acme", actorUserId: `u${i % 3}`, meta: { i } });
  await log.checkpoint();
  for (let i = 13; i <= 20; i++) await log.append({ action: "DATA_ACCESS", tenantId: "acme", actorUserId: `u${i % 3}`, meta: { i } });
  for (let i = 1; i <= 4; i++) await log.append({ action: "AUTH_LOGIN", tenantId: "beta", actorUserId: "b" });
  await log.checkpoint();
  published = await sink.readAll();
  jsonl = (await text(exportJsonl(log, { tenantId: "acme" }))).trim().split("\n");
  csv = await text(exportCsv(log, { tenantId: "acme" }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---- editing helpers -------------------------------------------------------------------------

type Entry = AuditRecord & Record<string, unknown>;
/** JSONL lines as objects: [header, ...entries, trailer]. */
const parseJsonl = (ls: string[]) => ls.map((l) => JSON.parse(l) as Record<string, unknown>);
const entriesOf = (objs: Record<string, unknown>[]) => objs.slice(1, -1).map((o) => o.record as Entry);
function rebuildJsonl(header: Record<string, unknown>, entries: Entry[], trailer: Record<string, unknown>): string[] {
  return [JSON.stringify(header), ...entries.map((r) => JSON.stringify({ type: "entry", record: r })), JSON.stringify(trailer)];
}
/** Re-chains from index `from` (hashes recomputed, as an attacker with the code would). */
function rechain(entries: Entry[], from: number): void {
  for (let i = from; i < entries.length; i++) {
    if (i > 0) entries[i]!.prevHash = entries[i - 1]!.hash;
    entries[i]!.hash = computeAuditHash(entries[i]!);
  }
}
/** The trailer an attacker would write for these entries (unsigned: the key is not theirs). */
function fixTrailer(trailer: Record<string, unknown>, entries: Entry[]): Record<string, unknown> {
  const { signature: _s, keyId: _k, ...rest } = trailer;
  return {
    ...rest,
    count: entries.length,
    firstSeq: entries[0] ? Number(entries[0].seq) : null,
    lastSeq: entries.at(-1) ? Number(entries.at(-1)!.seq) : null,
    lastHash: entries.at(-1)?.hash ?? null,
  };
}

async function csvParts(s: string): Promise<{ header: string; rows: Entry[]; trailer: Record<string, unknown> }> {
  const rows: Entry[] = [];
  let trailer: Record<string, unknown> = {};
  let first = true;
  let header = "";
  for await (const cells of parseCsv(Readable.from([s]))) {
    if (first) {
      header = cells.join(",");
      first = false;
    } else if (cells[0] === "#ops-audit-end") trailer = JSON.parse(cells[1]!) as Record<string, unknown>;
    else rows.push(csvRowToRecord(cells) as Entry);
  }
  return { header, rows, trailer };
}
const csvText = (header: string, rows: Entry[], trailer: Record<string, unknown> | null) =>
  `${header}\r\n${rows.map(recordToCsvRow).join("")}${trailer ? `#ops-audit-end,"${JSON.stringify(trailer).replace(/"/g, '""')}"\r\n` : ""}`;

// ---- checking ----------------------------------------------------------------------------------

async function both(content: string, format: "jsonl" | "csv", extra: VerifyExportOptions = {}, cliArgs: string[] = []) {
  const lib = await verifyExport(Readable.from([content]), { publicKey: keys.publicKey, checkpoints: published, format, ...extra });
  const file = join(dir, `t-${Math.random().toString(36).slice(2)}.${format}`);
  await writeFile(file, content);
  const outs: string[] = [];
  const code = await cli(
    ["verify", file, "--public-key", pem, "--checkpoints", cpsPath, "--json", ...cliArgs],
    (s) => outs.push(s),
    () => {},
  );
  return { lib, code, cliResult: JSON.parse(outs.join("")) as { ok: boolean; problems: { kind: string }[] } };
}

async function expectDetected(
  content: string,
  format: "jsonl" | "csv",
  kinds: string[],
  extra: VerifyExportOptions = {},
  cliArgs: string[] = [],
) {
  const { lib, code, cliResult } = await both(content, format, extra, cliArgs);
  expect(lib.ok, JSON.stringify(lib.problems)).toBe(false);
  expect(kinds).toContain(lib.problem!.kind);
  expect(code).toBe(1);
  expect(cliResult.ok).toBe(false);
  return lib;
}

describe("tamper battery: intact exports pass", () => {
  it("JSONL and CSV verify against the key and the published log (exit 0)", async () => {
    for (const [content, format] of [
      [`${jsonl.join("\n")}\n`, "jsonl"],
      [csv, "csv"],
    ] as const) {
      const { lib, code } = await both(content, format);
      expect(lib, JSON.stringify(lib.problems)).toMatchObject({
        ok: true,
        checked: 20,
        anchorsChecked: 2,
        trailerSigned: true,
        checkpointsVerified: 2,
      });
      expect(code).toBe(0);
    }
  });
});

describe("tamper battery: JSONL", () => {
  const edit = (
    f: (
      h: Record<string, unknown>,
      e: Entry[],
      t: Record<string, unknown>,
    ) => { h?: Record<string, unknown>; e?: Entry[]; t?: Record<string, unknown> | null } | void,
  ) => {
    const objs = parseJsonl(jsonl);
    const h = objs[0]!;
    const e = entriesOf(objs);
    const t = objs.at(-1)!;
    const r = f(h, e, t) ?? {};
    const lines = rebuildJsonl(r.h ?? h, r.e ?? e, r.t === undefined ? t : (r.t ?? {}));
    if (r.t === null) lines.pop();
    return `${lines.join("\n")}\n`;
  };

  it("modify, delete, insert, reorder", async () => {
    expect(
      (
        await expectDetected(
          edit((_h, e) => void ((e[4]!.meta as { i: number }).i = 99)),
          "jsonl",
          ["modified"],
        )
      ).problem?.seq,
    ).toBe(5);
    expect(
      (
        await expectDetected(
          edit((_h, e) => ({ e: e.filter((_, i) => i !== 7) })),
          "jsonl",
          ["removed"],
        )
      ).problem?.seq,
    ).toBe(8);
    const forged = (e: Entry[]) => ({ ...structuredClone(e[3]!), id: "aud_forged", action: "DATA_DELETE" }) as Entry;
    await expectDetected(
      edit((_h, e) => ({ e: [...e.slice(0, 4), forged(e), ...e.slice(4)] })),
      "jsonl",
      ["inserted", "modified"],
    );
    await expectDetected(
      edit((_h, e) => ({ e: [...e.slice(0, 2), e[3]!, e[2]!, ...e.slice(4)] })),
      "jsonl",
      ["reordered"],
    );
  });

  it("cut head (also with header and trailer fixed), cut tail (trailer fixed)", async () => {
    await expectDetected(
      edit((_h, e) => ({ e: e.slice(3) })),
      "jsonl",
      ["removed", "truncated"],
    );
    await expectDetected(
      edit((h, e, t) => {
        const rest = e.slice(3);
        return { h: { ...h, fromSeq: 4, prevHash: e[2]!.hash }, e: rest, t: fixTrailer(t, rest) };
      }),
      "jsonl",
      ["removed", "header", "trailer"],
    );
    const tail = await expectDetected(
      edit((h, e, t) => {
        const kept = e.slice(0, 15);
        return { h: { ...h, toSeq: 15 }, e: kept, t: fixTrailer(t, kept) };
      }),
      "jsonl",
      ["truncated", "trailer", "header"],
    );
    expect(tail.problems.map((p) => p.kind)).toContain("truncated");
  });

  it("recompute every hash after a change, forge at head", async () => {
    const re = await expectDetected(
      edit((_h, e, t) => {
        (e[5]!.meta as { i: number }).i = 600;
        rechain(e, 5);
        return { t: fixTrailer(t, e) };
      }),
      "jsonl",
      ["rewritten", "trailer"],
    );
    expect(re.problems.map((p) => p.kind)).toContain("rewritten");
    await expectDetected(
      edit((_h, e, t) => {
        const head = { ...structuredClone(e.at(-1)!), id: "aud_forged_head", seq: 21, action: "ROLE_CHANGE" } as Entry;
        const all = [...e, head];
        rechain(all, 20);
        return { e: all, t: fixTrailer(t, all) };
      }),
      "jsonl",
      ["trailer"],
    );
  });

  it("strip or lower anything in the header or trailer", async () => {
    await expectDetected(
      edit((h) => ({ h: { ...h, toSeq: 10 } })),
      "jsonl",
      ["truncated", "header"],
    );
    await expectDetected(
      edit((h, e, t) => {
        const kept = e.filter((_, i) => i !== 9);
        return { h: { ...h, chain: false }, e: kept, t: fixTrailer(t, kept) };
      }),
      "jsonl",
      ["header"],
    );
    // Checkpoints stripped from the header: the published log still anchors it... and the header no longer matches the signed trailer.
    await expectDetected(
      edit((h) => ({ h: { ...h, checkpoints: [] } })),
      "jsonl",
      ["header"],
    );
    await expectDetected(
      edit((h) => ({ h: { ...h, fromSeq: 2 } })),
      "jsonl",
      ["removed", "header", "inserted"],
    );
    await expectDetected(
      edit((_h, _e, t) => ({ t: { ...t, count: 19 } })),
      "jsonl",
      ["truncated", "trailer"],
    );
    await expectDetected(
      edit((_h, _e, t) => {
        const { signature: _s, ...rest } = t;
        return { t: rest };
      }),
      "jsonl",
      ["trailer", "header"],
    );
    await expectDetected(
      edit(() => ({ t: null })),
      "jsonl",
      ["truncated"],
    );
    await expectDetected(`${jsonl.slice(1).join("\n")}\n`, "jsonl", ["header"]);
  });

  it("without the published log, a stripped or emptied header is unanchored", async () => {
    const objs = parseJsonl(jsonl);
    const e = entriesOf(objs);
    rechain(e, 0);
    const stripped = rebuildJsonl({ ...objs[0]!, checkpoints: [] }, e, fixTrailer(objs.at(-1)!, e)).join("\n");
    const res = await verifyExport(Readable.from([stripped]), { publicKey: keys.publicKey });
    expect(res.ok).toBe(false);
    expect(res.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(["unanchored"]));
  });
});

describe("tamper battery: CSV", () => {
  const edit = async (f: (rows: Entry[], t: Record<string, unknown>) => { rows?: Entry[]; t?: Record<string, unknown> | null } | void) => {
    const { header, rows, trailer } = await csvParts(csv);
    const r = f(rows, trailer) ?? {};
    return csvText(header, r.rows ?? rows, r.t === undefined ? trailer : r.t);
  };

  it("modify, delete, insert, reorder", async () => {
    await expectDetected(await edit((rows) => void (rows[4]!.action = "DATA_DELETE")), "csv", ["modified"]);
    await expectDetected(await edit((rows) => ({ rows: rows.filter((_, i) => i !== 7) })), "csv", ["removed"]);
    await expectDetected(
      await edit((rows) => ({ rows: [...rows.slice(0, 4), { ...structuredClone(rows[3]!), id: "aud_x" } as Entry, ...rows.slice(4)] })),
      "csv",
      ["inserted", "modified"],
    );
    await expectDetected(await edit((rows) => ({ rows: [...rows.slice(0, 2), rows[3]!, rows[2]!, ...rows.slice(4)] })), "csv", [
      "reordered",
    ]);
  });

  it("cut head, cut tail, recompute, forge at head (trailers fixed by the attacker)", async () => {
    await expectDetected(
      await edit((rows, t) => {
        const rest = rows.slice(3);
        return { rows: rest, t: { ...fixTrailer(t, rest), fromSeq: 4, prevHash: rest[0]!.prevHash } };
      }),
      "csv",
      ["removed", "trailer"],
    );
    await expectDetected(await edit((rows) => ({ rows: rows.slice(3), t: null })), "csv", ["removed", "truncated"]);
    await expectDetected(
      await edit((rows, t) => {
        const kept = rows.slice(0, 14);
        return { rows: kept, t: { ...fixTrailer(t, kept), toSeq: 14 } };
      }),
      "csv",
      ["truncated", "trailer"],
    );
    await expectDetected(await edit((rows) => ({ rows: rows.slice(0, 14), t: null })), "csv", ["truncated"]);
    await expectDetected(
      await edit((rows, t) => {
        rows[6]!.action = "DATA_DELETE";
        rechain(rows, 6);
        return { t: fixTrailer(t, rows) };
      }),
      "csv",
      ["rewritten", "trailer"],
    );
    await expectDetected(
      await edit((rows, t) => {
        const all = [...rows, { ...structuredClone(rows.at(-1)!), id: "aud_h", seq: 21 } as Entry];
        rechain(all, 20);
        return { rows: all, t: fixTrailer(t, all) };
      }),
      "csv",
      ["trailer"],
    );
  });

  it("strip or lower trailer fields", async () => {
    await expectDetected(await edit((_rows, t) => ({ t: { ...t, toSeq: 5 } })), "csv", ["trailer", "truncated"]);
    await expectDetected(await edit((_rows, t) => ({ t: { ...t, chain: false } })), "csv", ["trailer", "header"]);
    await expectDetected(await edit((_rows, t) => ({ t: { ...t, checkpoints: [] } })), "csv", ["trailer"]);
    await expectDetected(
      await edit((_rows, t) => {
        const { signature: _s, ...rest } = t;
        return { t: rest };
      }),
      "csv",
      ["trailer"],
    );
  });
});

describe("tamper battery: checkpoint log and whole chains", () => {
  it("dropping the newest checkpoint is found against a witness copy (library and CLI)", async () => {
    const dropped = published.slice(0, -1);
    expect(verifyCheckpointLog(dropped, keys.publicKey)).toMatchObject({ ok: true });
    expect(verifyCheckpointLog(dropped, keys.publicKey, { witness: published })).toMatchObject({ ok: false, kind: "dropped" });
    const file = join(dir, "dropped.jsonl");
    await writeFile(file, dropped.map((c) => JSON.stringify(c)).join("\n"));
    expect(
      await cli(
        ["checkpoints", file, "--public-key", pem, "--witness", cpsPath],
        () => {},
        () => {},
      ),
    ).toBe(1);
    expect(
      await cli(
        ["checkpoints", cpsPath, "--public-key", pem, "--witness", cpsPath],
        () => {},
        () => {},
      ),
    ).toBe(0);
    // An export checked against the shortened log plus the witness fails too.
    const res = await verifyExport(Readable.from([`${jsonl.join("\n")}\n`]), {
      publicKey: keys.publicKey,
      checkpoints: dropped,
      witness: published,
    });
    expect(res.problems.map((p) => p.kind)).toContain("checkpoints");
    // A gap in the numbers (a middle checkpoint removed and the next re-linked is impossible without the key).
    expect(verifyCheckpointLog([published[1]!], keys.publicKey)).toMatchObject({ ok: true });
  });

  it("a chain deleted whole is found: verifyAll with the published log, and `verify --all`", async () => {
    const before = await log.verifyAll({ checkpoints: published });
    expect(before.every((r) => r.ok)).toBe(true);
    const outs: string[] = [];
    const acme = join(dir, "acme.jsonl");
    await writeFile(acme, `${jsonl.join("\n")}\n`);
    expect(
      await cli(
        ["verify", acme, "--public-key", pem, "--checkpoints", cpsPath, "--all"],
        (s) => outs.push(s),
        () => {},
      ),
    ).toBe(1);
    expect(outs.join("")).toMatch(/chain "beta" is named by the newest checkpoint/);
    const beta = join(dir, "beta.jsonl");
    await writeFile(beta, await text(exportJsonl(log, { tenantId: "beta" })));
    expect(
      await cli(
        ["verify", acme, beta, "--public-key", pem, "--checkpoints", cpsPath, "--all"],
        () => {},
        () => {},
      ),
    ).toBe(0);

    // Delete tenant beta's rows from the store: verifyAll still reports it.
    const m = memory();
    const copy = createAuditLog({ store: m.store, env: "prod", checkpoints: { privateKey: keys.privateKey, sinks: [] } });
    for (let i = 1; i <= 3; i++) await copy.append({ action: "AUTH_LOGIN", tenantId: "gone", actorUserId: "g" });
    await copy.append({ action: "AUTH_LOGIN", tenantId: "kept", actorUserId: "k" });
    const cp = await copy.checkpoint();
    const internal = m.store as unknown as { chainsByKey: Map<string, unknown> };
    for (const [k, v] of internal.chainsByKey) if ((v as { tenantId: string | null }).tenantId === "gone") internal.chainsByKey.delete(k);
    const results = await copy.verifyAll({ checkpoints: [cp] });
    const gone = results.find((r) => r.tenantId === "gone");
    expect(gone).toMatchObject({ ok: false, problem: { kind: "truncated", seq: 1 } });
  });
});

describe("tamper battery: the CLI reads checkpoint logs from a directory and a URL", () => {
  it("directory of objects and http URL", async () => {
    const { createServer } = await import("node:http");
    const objDir = join(dir, "objects");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(objDir);
    for (const [i, cp] of published.entries()) await writeFile(join(objDir, `cp-${i}.json`), JSON.stringify(cp));
    const file = join(dir, "dir-check.jsonl");
    await writeFile(file, `${jsonl.join("\n")}\n`);
    expect(
      await cli(
        ["verify", file, "--public-key", pem, "--checkpoints", objDir],
        () => {},
        () => {},
      ),
    ).toBe(0);
    const body = await readFile(cpsPath, "utf8");
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(
        await cli(
          ["verify", file, "--public-key", pem, "--checkpoints", `http://127.0.0.1:${port}/cps.jsonl`],
          () => {},
          () => {},
        ),
      ).toBe(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
