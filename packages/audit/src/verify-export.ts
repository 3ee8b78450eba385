import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { AuditRecord } from "@ops/core";
import { checkpointAnchors, type KeyInput } from "./checkpoint.js";
import { CSV_COLUMNS, csvRowToRecord, parseCsv } from "./csv.js";
import { computeAuditHash } from "./encoding.js";
import { EXPORT_FORMAT, type ExportHeader, type ExportTrailer } from "./export.js";
import { ChainVerifier, type ChainProblem, type TamperKind, type VerifyResult } from "./verify.js";

export interface ExportProblem {
  /** A tamper kind, "format" for an unreadable file, "signature" for a checkpoint that does not verify. */
  kind: TamperKind | "format" | "signature";
  seq?: number;
  id?: string;
  message: string;
}

export interface ExportVerifyResult {
  ok: boolean;
  format: "jsonl" | "csv";
  /** True when links were checked (a contiguous chain slice); false: each entry's own hash only. */
  chain: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Signed checkpoints whose signature verified. */
  checkpointsVerified: number;
  /** Chain positions compared with a signed checkpoint. */
  anchorsChecked: number;
  problem: ExportProblem | null;
}

const PAGE = 512;

/**
 * Verifies an export offline (JSONL from `exportJsonl`, or CSV from `exportCsv`): every entry's
 * hash, every link for chain slices, the count in the trailer, and, with `publicKey`, the
 * embedded signed checkpoints (a chain rewritten with recomputed hashes no longer matches them).
 * Streams: memory stays bounded. Never throws for bad content; it reports it.
 */
export async function verifyExport(input: Readable | AsyncIterable<string | Buffer>, options: { publicKey?: KeyInput; format?: "jsonl" | "csv" } = {}): Promise<ExportVerifyResult> {
  return options.format === "csv" ? verifyCsv(input, options.publicKey) : verifyJsonl(input, options.publicKey);
}

function result(partial: Partial<ExportVerifyResult> & Pick<ExportVerifyResult, "format">): ExportVerifyResult {
  return { ok: false, chain: false, checked: 0, firstSeq: null, lastSeq: null, checkpointsVerified: 0, anchorsChecked: 0, problem: null, ...partial };
}

function fromChain(format: "jsonl" | "csv", r: VerifyResult, firstSeq: number | null, cps: number, chain: boolean): ExportVerifyResult {
  const p: ChainProblem | null = r.problem;
  return result({ format, ok: r.ok, chain, checked: r.checked, firstSeq, lastSeq: r.lastSeq, checkpointsVerified: cps, anchorsChecked: r.anchorsChecked, problem: p });
}

async function verifyJsonl(input: Readable | AsyncIterable<string | Buffer>, publicKey: KeyInput | undefined): Promise<ExportVerifyResult> {
  const stream = input instanceof Readable ? input : Readable.from(input);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let header: ExportHeader | null = null;
  let trailer: ExportTrailer | null = null;
  let v: ChainVerifier | null = null;
  let page: AuditRecord[] = [];
  let firstSeq: number | null = null;
  let count = 0;
  let cps = 0;
  let lineNo = 0;
  let entryProblem: ExportProblem | null = null;
  let lastSeq: number | null = null;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === "") continue;
    let obj: { type?: string; record?: AuditRecord };
    try {
      obj = JSON.parse(line) as typeof obj;
    } catch {
      return result({ format: "jsonl", problem: { kind: "format", message: `line ${lineNo} is not JSON` } });
    }
    if (!header) {
      const h = obj as unknown as ExportHeader;
      if (h.type !== "header" || h.format !== EXPORT_FORMAT) return result({ format: "jsonl", problem: { kind: "format", message: "first line is not an ops-audit export header" } });
      header = h;
      let anchors: { seq: number; hash: string }[] = [];
      if (publicKey && h.checkpoints.length > 0) {
        try {
          anchors = checkpointAnchors(h.checkpoints, h.tenantId, publicKey);
        } catch (err) {
          return result({ format: "jsonl", problem: { kind: "signature", message: (err as Error).message } });
        }
        cps = h.checkpoints.length;
      }
      if (h.toSeq !== null) anchors = anchors.filter((a) => a.seq <= h.toSeq!);
      v = new ChainVerifier({ tenantId: h.tenantId, fromSeq: h.fromSeq, prevHash: h.prevHash, anchors: h.chain ? anchors : [] });
      continue;
    }
    if (trailer) return result({ format: "jsonl", problem: { kind: "inserted", message: `line ${lineNo} follows the end trailer` } });
    if (obj.type === "end") {
      trailer = obj as unknown as ExportTrailer;
      continue;
    }
    if (obj.type !== "entry" || !obj.record) return result({ format: "jsonl", problem: { kind: "format", message: `line ${lineNo} is neither an entry nor the trailer` } });
    const r = obj.record;
    count++;
    firstSeq ??= Number(r.seq);
    lastSeq = Number(r.seq);
    if (header.chain) {
      page.push(r);
      if (page.length >= PAGE) {
        if (!v!.push(page)) break;
        page = [];
      }
    } else if (!entryProblem && computeAuditHash(r) !== r.hash) {
      entryProblem = { kind: "modified", seq: Number(r.seq), id: r.id, message: `entry at seq ${r.seq} does not match its hash: content was changed` };
      break;
    }
  }
  if (!header) return result({ format: "jsonl", problem: { kind: "format", message: "empty file: no export header" } });
  if (header.chain) {
    v!.push(page);
    const r = v!.end();
    if (!r.ok) return fromChain("jsonl", r, firstSeq, cps, true);
    if (!trailer || trailer.count !== count)
      return result({ format: "jsonl", chain: true, checked: r.checked, firstSeq, lastSeq: r.lastSeq, checkpointsVerified: cps, anchorsChecked: r.anchorsChecked,
        problem: { kind: "truncated", seq: (r.lastSeq ?? header.fromSeq - 1) + 1, message: trailer ? `trailer says ${trailer.count} entries, file has ${count}` : "the end trailer is missing: the export was cut short" } });
    return fromChain("jsonl", r, firstSeq, cps, true);
  }
  if (entryProblem) return result({ format: "jsonl", checked: count - 1, firstSeq, lastSeq, checkpointsVerified: cps, problem: entryProblem });
  if (!trailer || trailer.count !== count)
    return result({ format: "jsonl", checked: count, firstSeq, lastSeq, checkpointsVerified: cps, problem: { kind: "truncated", message: trailer ? `trailer says ${trailer.count} entries, file has ${count}` : "the end trailer is missing: the export was cut short" } });
  return result({ format: "jsonl", ok: true, checked: count, firstSeq, lastSeq, checkpointsVerified: cps });
}

async function verifyCsv(input: Readable | AsyncIterable<string | Buffer>, _publicKey: KeyInput | undefined): Promise<ExportVerifyResult> {
  let v: ChainVerifier | null = null;
  let first = true;
  let page: AuditRecord[] = [];
  let firstSeq: number | null = null;
  let row = 0;
  for await (const cells of parseCsv(input as AsyncIterable<string | Buffer>)) {
    row++;
    if (first) {
      first = false;
      if (cells.join(",") !== CSV_COLUMNS.join(",")) return result({ format: "csv", problem: { kind: "format", message: "first row is not the ops-audit CSV header" } });
      continue;
    }
    let r: AuditRecord;
    try {
      r = csvRowToRecord(cells);
    } catch (err) {
      return result({ format: "csv", problem: { kind: "format", message: `row ${row}: ${(err as Error).message}` } });
    }
    // The first row anchors the chain (a CSV has no header line for it): its own hash and every later link are checked.
    v ??= new ChainVerifier({ tenantId: r.tenantId, fromSeq: Number(r.seq), prevHash: r.prevHash });
    firstSeq ??= Number(r.seq);
    page.push(r);
    if (page.length >= PAGE) {
      if (!v.push(page)) break;
      page = [];
    }
  }
  if (!v) return result({ format: "csv", ok: !first, chain: true, problem: first ? { kind: "format", message: "empty file" } : null });
  v.push(page);
  return fromChain("csv", v.end(), firstSeq, 0, true);
}
