import { verify as verifySignature } from "node:crypto";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { AuditRecord, TenantKey } from "@ops/core";
import {
  checkpointAnchors,
  checkpointKeyId,
  publicKeyOf,
  verifyCheckpointLog,
  type CheckpointProof,
  type KeyInput,
  type SignedCheckpoint,
} from "./checkpoint.js";
import { CSV_COLUMNS, CSV_TRAILER_MARK, csvRowToRecord, parseCsv } from "./csv.js";
import { sha256Hex } from "./encoding.js";
import { checkEntryHash, macKeyMap, type MacKey } from "./mac.js";
import { EXPORT_FORMAT, exportTrailerSigningInput, type CsvTrailer, type ExportHeader, type ExportTrailer } from "./export.js";
import { ChainVerifier, type ChainAnchor, type TamperKind, type VerifyResult } from "./verify.js";

/**
 * What an export verification found wrong. Besides the chain's own kinds:
 * - `header`: the header (JSONL) or trailer row's description (CSV) is missing, altered, or says
 *   something the auditor did not expect (a filtered export, another tenant, another start);
 * - `trailer`: the end trailer is missing, altered, or its signature does not verify;
 * - `unanchored`: a public key was given but no signed checkpoint covers any entry of the export;
 * - `checkpoints`: the published checkpoint log is broken (bad signature, a gap, newest dropped);
 * - `signature`: an embedded checkpoint does not verify against the public key;
 * - `format`: the file is not an export at all (exit 2 in the CLI).
 */
export type ExportProblemKind = TamperKind | "header" | "trailer" | "unanchored" | "checkpoints" | "signature" | "format";

export interface ExportProblem {
  kind: ExportProblemKind;
  /** The chain position concerned, when there is one. */
  seq?: number;
  id?: string;
  /** Line (JSONL) or row (CSV) of the file, 1-based, when the problem is at one. */
  line?: number;
  message: string;
}

export interface ExportVerifyResult {
  ok: boolean;
  format: "jsonl" | "csv";
  tenantId?: TenantKey;
  /** True when links were checked (a contiguous chain slice); false: each entry's own hash only. */
  chain: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Signed checkpoints whose signature verified (published log, else embedded). */
  checkpointsVerified: number;
  /** Chain positions compared with a signed checkpoint. */
  anchorsChecked: number;
  /** True when the trailer carried a signature and it verified. */
  trailerSigned: boolean;
  /** Keyed entries whose MAC verified; keyed entries not checkable for want of their key. */
  macsChecked: number;
  macsUnverifiable: number;
  /** The first problem (null when ok). */
  problem: ExportProblem | null;
  /** Every problem found (the header and trailer checks do not stop at the first). */
  problems: ExportProblem[];
}

export interface VerifyExportOptions {
  /** Ed25519 public key of the checkpoint signer: turns on the checks that trust only the key. */
  publicKey?: KeyInput;
  format?: "jsonl" | "csv";
  /**
   * The published checkpoint log (oldest first), from where the auditor keeps it, not from the
   * export: anchors come from it, its links and numbers are checked, and the export must reach
   * the newest checkpoint that names its chain. Without it, the checkpoints embedded in the export
   * are used (they prove what they name, but dropping the newest of them cannot be seen).
   */
  checkpoints?: readonly SignedCheckpoint[];
  /** A later copy of the checkpoint log (a second sink, a witness file): the newest it holds must be in `checkpoints`. */
  witness?: readonly SignedCheckpoint[];
  /** MAC keys of keyed entries (see `createAuditLog({ mac })`): each keyed entry's MAC is checked, and an unkeyed entry after a keyed one is a forgery. */
  macKeys?: readonly MacKey[];
  /** Every entry must carry a MAC. */
  requireMac?: boolean;
  /** What the auditor expects; anything else is a `header` problem. Defaults with a key: a chain slice from seq 1. */
  expect?: { tenantId?: TenantKey; fromSeq?: number; toSeq?: number; filtered?: boolean; unsignedTrailer?: boolean };
}

const PAGE = 512;

/**
 * Verifies an export offline (JSONL from `exportJsonl`, or CSV from `exportCsv`): every entry's
 * hash, every link for chain slices, the trailer (count, first/last seq, head hash, header digest,
 * signature). With `publicKey` it trusts nothing but the key: it requires at least one signed
 * anchor covering the export, a chain slice from seq 1 (or `expect`), a `toSeq` no lower than the
 * newest checkpoint naming the chain, and checks `checkpoints` (the published log) as a chain.
 * Streams: memory stays bounded (except a CSV checked against only its embedded checkpoints,
 * which keeps one hash per entry). Never throws for bad content; it reports it.
 * @throws ConfigError for a public key that is not Ed25519
 */
export async function verifyExport(
  input: Readable | AsyncIterable<string | Buffer>,
  options: VerifyExportOptions = {},
): Promise<ExportVerifyResult> {
  const ctx = new Context(options);
  return options.format === "csv" ? verifyCsv(input, ctx) : verifyJsonl(input, ctx);
}

/** What both formats share: the key, the published log, expectations, and the problems found. */
class Context {
  readonly key: ReturnType<typeof publicKeyOf> | null;
  readonly problems: ExportProblem[] = [];
  readonly macKeys: Map<string, Buffer> | null;
  published: { anchors: Map<TenantKey, ChainAnchor[]>; verified: number } | null = null;
  constructor(readonly options: VerifyExportOptions) {
    this.key = options.publicKey ? publicKeyOf(options.publicKey) : null;
    this.macKeys = macKeyMap(options.macKeys);
    if (this.key && options.checkpoints) {
      const log = verifyCheckpointLog(options.checkpoints, this.key, options.witness ? { witness: options.witness } : {});
      if (!log.ok)
        this.add({
          kind: "checkpoints",
          ...(log.badIndex !== undefined ? { line: log.badIndex + 1 } : {}),
          message: `published checkpoint log: ${log.message ?? "invalid"}`,
        });
      const anchors = new Map<TenantKey, ChainAnchor[]>();
      const n = log.ok ? options.checkpoints.length : (log.badIndex ?? 0);
      for (let i = 0; i < n; i++)
        for (const h of options.checkpoints[i]!.payload.heads) {
          const list = anchors.get(h.tenantId) ?? [];
          list.push({ seq: h.seq, hash: h.hash });
          anchors.set(h.tenantId, list);
        }
      this.published = { anchors, verified: n };
    }
  }

  add(p: ExportProblem): void {
    this.problems.push(p);
  }

  /** Anchors for `tenantId` from the published log, else from the embedded proofs. Adds a problem for a bad proof. */
  anchorsFor(tenantId: TenantKey, embedded: readonly CheckpointProof[] | undefined): { anchors: ChainAnchor[]; verified: number } {
    if (!this.key) return { anchors: [], verified: 0 };
    if (this.published) return { anchors: this.published.anchors.get(tenantId) ?? [], verified: this.published.verified };
    if (!Array.isArray(embedded)) return { anchors: [], verified: 0 };
    try {
      return { anchors: checkpointAnchors(embedded, tenantId, this.key), verified: embedded.length };
    } catch (err) {
      this.add({ kind: "signature", message: (err as Error).message });
      return { anchors: [], verified: 0 };
    }
  }

  /** The description checks (JSONL header / CSV trailer) against what the auditor expects and the anchors. */
  checkDescription(
    d: { tenantId: TenantKey; chain: boolean; fromSeq: number; toSeq: number | null },
    newest: ChainAnchor | null,
    where: string,
  ): void {
    const exp = this.options.expect ?? {};
    if (exp.tenantId !== undefined && d.tenantId !== exp.tenantId)
      this.add({
        kind: "header",
        message: `${where} names tenant ${JSON.stringify(d.tenantId)}, expected ${JSON.stringify(exp.tenantId)}`,
      });
    if (!this.key && exp.fromSeq === undefined && exp.toSeq === undefined && exp.filtered === undefined) return;
    if (!Number.isSafeInteger(d.fromSeq) || (d.toSeq !== null && !Number.isSafeInteger(d.toSeq)))
      this.add({ kind: "header", message: `${where} has a malformed fromSeq or toSeq` });
    if (d.chain !== true && exp.filtered !== true)
      this.add({
        kind: "header",
        message: `${where} says the export is filtered (chain: ${JSON.stringify(d.chain)}); links cannot be checked, so it cannot prove nothing was removed (pass expect.filtered / --filtered to accept one)`,
      });
    if (d.chain === true || exp.filtered !== true) {
      const from = exp.fromSeq ?? 1;
      if (d.fromSeq !== from)
        this.add({
          kind: d.fromSeq > from ? "removed" : "header",
          seq: from,
          message: `${where} starts at seq ${d.fromSeq}, expected ${from}: entries at the head were cut`,
        });
      if (exp.toSeq !== undefined && d.toSeq !== exp.toSeq)
        this.add({ kind: "truncated", seq: exp.toSeq, message: `${where} ends at seq ${d.toSeq}, expected ${exp.toSeq}` });
      if (newest && (d.toSeq === null || d.toSeq < newest.seq) && (exp.toSeq === undefined || exp.toSeq >= newest.seq))
        this.add({
          kind: "truncated",
          seq: (d.toSeq ?? 0) + 1,
          message: `${where} ends at seq ${d.toSeq}, below the newest signed checkpoint of this chain (seq ${newest.seq}): entries were cut or toSeq lowered`,
        });
    }
  }

  trailerSignature(t: ExportTrailer | CsvTrailer, line: number): boolean {
    if (!this.key) return false;
    if (t.signature === undefined && t.keyId === undefined) {
      // Exports of a log that holds the checkpoint key are signed: an unsigned one was re-written by someone without it.
      if (this.options.expect?.unsignedTrailer !== true)
        this.add({
          kind: "trailer",
          line,
          message:
            "the trailer is not signed: an export of a log with a checkpoint key always is (pass expect.unsignedTrailer / --unsigned-trailer for exports made without the key)",
        });
      return false;
    }
    let ok = false;
    try {
      ok =
        t.keyId === checkpointKeyId(this.key) &&
        typeof t.signature === "string" &&
        verifySignature(null, Buffer.from(exportTrailerSigningInput(t), "utf8"), this.key, Buffer.from(t.signature, "base64"));
    } catch {
      ok = false;
    }
    if (!ok)
      this.add({
        kind: "trailer",
        line,
        message: "the trailer's signature does not verify against the public key: the header or trailer was altered",
      });
    return ok;
  }

  result(format: "jsonl" | "csv", partial: Partial<ExportVerifyResult>, chainResult: VerifyResult | null): ExportVerifyResult {
    const problems = [...this.problems];
    if (chainResult?.problem) problems.unshift({ ...chainResult.problem });
    const order = (p: ExportProblem) => (p.kind === "format" ? 0 : 1);
    problems.sort((a, b) => order(a) - order(b));
    return {
      ok: problems.length === 0,
      format,
      chain: false,
      checked: chainResult?.checked ?? 0,
      firstSeq: null,
      lastSeq: chainResult?.lastSeq ?? null,
      checkpointsVerified: 0,
      anchorsChecked: chainResult?.anchorsChecked ?? 0,
      trailerSigned: false,
      macsChecked: chainResult?.macsChecked ?? 0,
      macsUnverifiable: chainResult?.macsUnverifiable ?? 0,
      ...partial,
      problem: problems[0] ?? null,
      problems,
    };
  }
}

function newestOf(anchors: readonly ChainAnchor[]): ChainAnchor | null {
  let best: ChainAnchor | null = null;
  for (const a of anchors) if (!best || a.seq > best.seq) best = a;
  return best;
}

/** Checks each entry's own hash (filtered exports), tenant included. */
class EntryHashes {
  checked = 0;
  problem: ExportProblem | null = null;
  constructor(private readonly macKeys: ReadonlyMap<string, Buffer> | null) {}
  push(r: AuditRecord): void {
    if (this.problem) return;
    if (checkEntryHash(r, this.macKeys) === "bad")
      this.problem = {
        kind: "modified",
        seq: Number(r.seq),
        id: r.id,
        message: `entry at seq ${r.seq} does not match its hash: content was changed`,
      };
    else this.checked++;
  }
}

function wrongTenant(ctx: Context, r: AuditRecord, tenantId: TenantKey, line: number): void {
  if (r.tenantId !== tenantId && !ctx.problems.some((p) => p.kind === "inserted" && p.line !== undefined))
    ctx.add({
      kind: "inserted",
      seq: Number(r.seq),
      id: r.id,
      line,
      message: `entry at seq ${r.seq} belongs to tenant ${JSON.stringify(r.tenantId)}, not to the exported ${JSON.stringify(tenantId)}`,
    });
}

async function verifyJsonl(input: Readable | AsyncIterable<string | Buffer>, ctx: Context): Promise<ExportVerifyResult> {
  const stream = input instanceof Readable ? input : Readable.from(input);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let header: ExportHeader | null = null;
  let headerLine = "";
  let trailer: ExportTrailer | null = null;
  let trailerLine = 0;
  let v: ChainVerifier | null = null;
  let hashes: EntryHashes | null = null;
  let page: AuditRecord[] = [];
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let lastHash: string | null = null;
  let count = 0;
  let cps = 0;
  let lineNo = 0;
  let anchors: ChainAnchor[] = [];
  const format = (message: string) => {
    ctx.add({ kind: "format", message });
    return ctx.result("jsonl", {}, null);
  };
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === "") continue;
    let obj: { type?: string; record?: AuditRecord };
    try {
      obj = JSON.parse(line) as typeof obj;
    } catch {
      return format(`line ${lineNo} is not JSON`);
    }
    if (!header) {
      const h = obj as unknown as ExportHeader;
      if (h === null || typeof h !== "object" || h.type !== "header" || h.format !== EXPORT_FORMAT) {
        if (obj && typeof obj === "object" && (obj.type === "entry" || obj.type === "end")) {
          ctx.add({ kind: "header", line: lineNo, message: "the export header is missing: the file starts with an entry" });
          return ctx.result("jsonl", {}, null);
        }
        return format("first line is not an ops-audit export header");
      }
      if (typeof h.fromSeq !== "number" || typeof h.prevHash !== "string" || !("tenantId" in h)) {
        ctx.add({ kind: "header", line: lineNo, message: "the export header lacks fromSeq, prevHash or tenantId: it was altered" });
        return ctx.result("jsonl", {}, null);
      }
      header = h;
      headerLine = line;
      const got = ctx.anchorsFor(h.tenantId, h.checkpoints);
      anchors = got.anchors;
      cps = got.verified;
      ctx.checkDescription(h, newestOf(anchors), "the header");
      if (h.chain === true)
        v = new ChainVerifier({
          tenantId: h.tenantId,
          fromSeq: h.fromSeq,
          prevHash: h.prevHash,
          anchors: anchors.filter((a) => h.toSeq === null || a.seq <= h.toSeq),
          macKeys: ctx.macKeys,
          requireMac: ctx.options.requireMac === true,
        });
      else hashes = new EntryHashes(ctx.macKeys);
      continue;
    }
    if (trailer) {
      ctx.add({ kind: "inserted", line: lineNo, message: `line ${lineNo} follows the end trailer` });
      break;
    }
    if (obj && obj.type === "end") {
      trailer = obj as unknown as ExportTrailer;
      trailerLine = lineNo;
      continue;
    }
    if (!obj || obj.type !== "entry" || !obj.record || typeof obj.record !== "object")
      return format(`line ${lineNo} is neither an entry nor the trailer`);
    const r = obj.record;
    count++;
    firstSeq ??= Number(r.seq);
    lastSeq = Number(r.seq);
    lastHash = r.hash;
    wrongTenant(ctx, r, header.tenantId, lineNo);
    if (v) {
      page.push(r);
      if (page.length >= PAGE) {
        if (!v.push(page)) break;
        page = [];
      }
    } else hashes!.push(r);
  }
  if (!header) {
    ctx.add({ kind: "header", message: "empty file: no export header" });
    return ctx.result("jsonl", {}, null);
  }
  let chainResult: VerifyResult | null = null;
  if (v) {
    v.push(page);
    chainResult = v.end();
  } else if (hashes!.problem) ctx.add(hashes!.problem);
  let signed = false;
  if (!trailer)
    ctx.add({
      kind: "truncated",
      seq: (lastSeq ?? header.fromSeq - 1) + 1,
      message: "the end trailer is missing: the export was cut short",
    });
  else {
    signed = ctx.trailerSignature(trailer, trailerLine);
    if (trailer.count !== count)
      ctx.add({
        kind: "truncated",
        line: trailerLine,
        seq: (lastSeq ?? header.fromSeq - 1) + 1,
        message: `trailer says ${trailer.count} entries, file has ${count}`,
      });
    else if (
      trailer.lastSeq !== lastSeq ||
      trailer.lastHash !== lastHash ||
      (trailer.firstSeq !== undefined && trailer.firstSeq !== firstSeq)
    )
      ctx.add({ kind: "trailer", line: trailerLine, message: "the trailer's first/last seq or head hash differ from the entries" });
    if (trailer.headerDigest !== undefined && trailer.headerDigest !== sha256Hex(headerLine))
      ctx.add({ kind: "header", line: 1, message: "the header differs from the one the trailer was made for: it was altered" });
    if (ctx.key && (trailer.signature !== undefined || trailer.keyId !== undefined) && trailer.headerDigest === undefined)
      ctx.add({ kind: "header", line: 1, message: "a signed trailer without the header's digest: it was altered" });
  }
  if (ctx.key && header.chain === true && chainResult?.ok && chainResult.anchorsChecked === 0)
    ctx.add({
      kind: "unanchored",
      seq: header.fromSeq,
      message:
        anchors.length === 0
          ? "no signed checkpoint names this chain: nothing ties the export to the key (a recomputed chain would pass)"
          : "no signed checkpoint position falls inside the export",
    });
  return ctx.result(
    "jsonl",
    {
      tenantId: header.tenantId,
      chain: header.chain === true,
      checked: chainResult?.checked ?? hashes?.checked ?? 0,
      firstSeq,
      lastSeq: chainResult ? chainResult.lastSeq : lastSeq,
      checkpointsVerified: cps,
      trailerSigned: signed,
    },
    chainResult,
  );
}

async function verifyCsv(input: Readable | AsyncIterable<string | Buffer>, ctx: Context): Promise<ExportVerifyResult> {
  let v: ChainVerifier | null = null;
  let first = true;
  let page: AuditRecord[] = [];
  let firstRecord: AuditRecord | null = null;
  let lastRecord: AuditRecord | null = null;
  let trailer: CsvTrailer | null = null;
  let trailerRow = 0;
  let row = 0;
  let count = 0;
  let anchors: ChainAnchor[] = [];
  // Without the published log the anchors come with the trailer, at the end: keep each hash until then.
  const seen: Map<number, string> | null = ctx.key && !ctx.published ? new Map() : null;
  const fail = (kind: ExportProblemKind, message: string) => {
    ctx.add({ kind, message });
    return ctx.result("csv", {}, null);
  };
  for await (const cells of parseCsv(input as AsyncIterable<string | Buffer>)) {
    row++;
    if (first) {
      first = false;
      if (cells.join(",") !== CSV_COLUMNS.join(",")) return fail("format", "first row is not the ops-audit CSV header");
      continue;
    }
    if (trailer) {
      ctx.add({ kind: "inserted", line: row, message: `row ${row} follows the trailer row` });
      break;
    }
    if (cells[0] === CSV_TRAILER_MARK) {
      try {
        trailer = JSON.parse(cells[1] ?? "") as CsvTrailer;
      } catch {
        ctx.add({ kind: "trailer", line: row, message: "the trailer row is not JSON: it was altered" });
        trailer = null;
        break;
      }
      trailerRow = row;
      continue;
    }
    let r: AuditRecord;
    try {
      r = csvRowToRecord(cells);
    } catch (err) {
      return fail("format", `row ${row}: ${(err as Error).message}`);
    }
    count++;
    if (!firstRecord) {
      firstRecord = r;
      // The chain starts where the first row says; the trailer (signed) and the expectations check that start.
      anchors = ctx.published ? ctx.anchorsFor(r.tenantId, undefined).anchors : [];
      v = new ChainVerifier({
        tenantId: r.tenantId,
        fromSeq: Number(r.seq),
        prevHash: r.prevHash,
        anchors,
        macKeys: ctx.macKeys,
        requireMac: ctx.options.requireMac === true,
      });
    }
    wrongTenant(ctx, r, firstRecord.tenantId, row);
    lastRecord = r;
    seen?.set(Number(r.seq), r.hash);
    page.push(r);
    if (page.length >= PAGE) {
      if (!v!.push(page)) break;
      page = [];
    }
  }
  if (first) return fail("format", "empty file");
  let chainResult: VerifyResult | null = null;
  if (v) {
    v.push(page);
    chainResult = v.end();
  }
  let signed = false;
  let cps = ctx.published?.verified ?? 0;
  let anchorsChecked = chainResult?.anchorsChecked ?? 0;
  const tenantId = trailer?.tenantId ?? firstRecord?.tenantId ?? null;
  if (!trailer) {
    if (!ctx.problems.some((p) => p.kind === "trailer"))
      ctx.add({
        kind: "truncated",
        seq: (lastRecord ? Number(lastRecord.seq) : 0) + 1,
        message: "the trailer row is missing: rows were cut at the end (or the file predates signed trailers)",
      });
    const from = ctx.options.expect?.fromSeq ?? 1;
    if (ctx.key && firstRecord && Number(firstRecord.seq) !== from)
      ctx.add({
        kind: "removed",
        seq: from,
        line: 2,
        message: `the first row is seq ${firstRecord.seq}, expected ${from}: rows were cut at the head`,
      });
    if (ctx.key && chainResult?.ok && anchorsChecked === 0)
      ctx.add({ kind: "unanchored", message: "no signed checkpoint covers the export" });
  } else {
    signed = ctx.trailerSignature(trailer, trailerRow);
    if (trailer.count !== count)
      ctx.add({
        kind: trailer.count > count ? "truncated" : "inserted",
        line: trailerRow,
        message: `trailer says ${trailer.count} entries, file has ${count}`,
      });
    else if (
      trailer.lastSeq !== (lastRecord ? Number(lastRecord.seq) : null) ||
      trailer.lastHash !== (lastRecord?.hash ?? null) ||
      trailer.firstSeq !== (firstRecord ? Number(firstRecord.seq) : null)
    )
      ctx.add({ kind: "trailer", line: trailerRow, message: "the trailer's first/last seq or head hash differ from the rows" });
    if (
      firstRecord &&
      (trailer.prevHash !== firstRecord.prevHash || (trailer.chain === true && trailer.fromSeq !== Number(firstRecord.seq)))
    )
      ctx.add({
        kind: "removed",
        seq: trailer.fromSeq,
        line: 2,
        message: `the first row (seq ${firstRecord.seq}) is not where the export starts (seq ${trailer.fromSeq}): rows were cut at the head`,
      });
    if (firstRecord && trailer.tenantId !== firstRecord.tenantId)
      ctx.add({ kind: "header", line: trailerRow, message: "the trailer names another tenant than the rows" });
    if (!ctx.published) {
      const got = ctx.anchorsFor(trailer.tenantId, trailer.checkpoints);
      anchors = got.anchors;
      cps = got.verified;
      // The anchors arrive last: compare them with the hashes kept on the way.
      if (chainResult?.ok && seen) {
        for (const a of anchors) {
          if (trailer.toSeq !== null && a.seq > trailer.toSeq) continue;
          if (a.seq < (firstRecord ? Number(firstRecord.seq) : 1)) continue;
          const h = seen.get(a.seq);
          if (h === undefined)
            ctx.add({
              kind: "truncated",
              seq: a.seq,
              message: `a signed checkpoint covers seq ${a.seq} but the export has no entry there`,
            });
          else if (h !== a.hash)
            ctx.add({
              kind: "rewritten",
              seq: a.seq,
              message: `hash at seq ${a.seq} differs from the signed checkpoint: history at or before seq ${a.seq} was rewritten`,
            });
          else anchorsChecked++;
        }
      }
    }
    ctx.checkDescription(trailer, newestOf(anchors), "the trailer row");
    if (ctx.key && chainResult?.ok && anchorsChecked === 0 && !ctx.problems.some((p) => p.kind === "signature"))
      ctx.add({
        kind: "unanchored",
        seq: trailer.fromSeq,
        message:
          anchors.length === 0
            ? "no signed checkpoint names this chain: nothing ties the export to the key"
            : "no signed checkpoint position falls inside the export",
      });
  }
  if (ctx.key && !trailer && ctx.published === null && !ctx.problems.some((p) => p.kind === "unanchored"))
    ctx.add({ kind: "unanchored", message: "no trailer and no published checkpoint log: nothing ties the export to the key" });
  return ctx.result(
    "csv",
    {
      ...(tenantId !== undefined ? { tenantId } : {}),
      chain: trailer ? trailer.chain === true : true,
      checked: chainResult?.checked ?? 0,
      firstSeq: firstRecord ? Number(firstRecord.seq) : null,
      checkpointsVerified: cps,
      anchorsChecked,
      trailerSigned: signed,
    },
    chainResult,
  );
}
