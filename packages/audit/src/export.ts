import { Readable } from "node:stream";
import { ActorRefSchema, parseInput, type AuditQuery, type AuditRecord, type JsonValue, type TenantKey } from "@ops/core";
import { checkpointProof, type CheckpointProof, type SignedCheckpoint } from "./checkpoint.js";
import { CSV_COLUMNS, csvTrailerRow, recordToCsvRow } from "./csv.js";
import { GENESIS_HASH, canonicalJson, sha256Hex } from "./encoding.js";
import type { AuditLog, AuditReadOptions } from "./log.js";
import { isChainSlice, parseQuery, type AuditQueryInput } from "./query.js";

export const EXPORT_FORMAT = "ops-audit-export";

export type ExportInput = Omit<AuditQueryInput, "limit" | "cursor"> &
  AuditReadOptions & {
    /** First seq of a chain slice (default 1); only without other filters. */
    fromSeq?: number;
    /** Last seq of a chain slice (default: the head when the export starts). */
    toSeq?: number;
    /** Signed checkpoints to embed so the export verifies against the public key (default: the log's last one). */
    checkpoints?: readonly SignedCheckpoint[];
    /** Rows per store read (default 1000). */
    pageSize?: number;
  };

/** First line of a JSONL export. */
export interface ExportHeader {
  type: "header";
  format: typeof EXPORT_FORMAT;
  v: 1;
  tenantId: TenantKey;
  exportedAt: string;
  /** True when the export is a contiguous chain slice: it then verifies link by link. */
  chain: boolean;
  fromSeq: number;
  toSeq: number | null;
  /** Hash of entry `fromSeq - 1` ("" from seq 1), so the first link can be checked. */
  prevHash: string;
  filters: Record<string, unknown>;
  /** This chain's head in each signed checkpoint, with its Merkle inclusion proof (no other tenant's head). */
  checkpoints: CheckpointProof[];
}

export interface ExportTrailer {
  type: "end";
  count: number;
  /** Seq of the first entry (null when none). */
  firstSeq?: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  /** SHA-256 of the header line (JSONL), so an altered header no longer matches the signed trailer. */
  headerDigest?: string;
  /** Id of the key that signed (the checkpoint key), and the Ed25519 signature over `exportTrailerSigningInput`. */
  keyId?: string;
  signature?: string;
}

/**
 * The trailer row of a CSV export (first cell `CSV_TRAILER_MARK`, second cell this as JSON): what
 * a JSONL header and trailer hold, signed the same way when the log has a checkpoint key.
 */
export interface CsvTrailer {
  type: "csv-end";
  tenantId: TenantKey;
  chain: boolean;
  fromSeq: number;
  toSeq: number | null;
  prevHash: string;
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  checkpoints: CheckpointProof[];
  keyId?: string;
  signature?: string;
}

/** The exact bytes a trailer's signature covers: every field but `keyId`/`signature`, canonical JSON. */
export function exportTrailerSigningInput(t: ExportTrailer | CsvTrailer): string {
  const { keyId: _k, signature: _s, ...rest } = t;
  return `ops-audit-export-trailer/1\n${canonicalJson(JSON.parse(JSON.stringify(rest)) as JsonValue)}`;
}

interface Plan {
  header: ExportHeader;
  rows: () => AsyncGenerator<AuditRecord>;
}

async function plan(log: AuditLog<string>, input: ExportInput): Promise<Plan> {
  const { auditedAs, fromSeq, toSeq, checkpoints, pageSize: ps, ...filters } = input;
  const q: AuditQuery = parseQuery(filters);
  const pageSize = Math.min(Math.max(ps ?? 1000, 1), 10_000);
  if (auditedAs) {
    const reader = parseInput(ActorRefSchema, auditedAs, { pkg: "audit", what: "auditedAs" });
    await log.auditRead(reader, q.tenantId, "export", { ...filters, fromSeq, toSeq });
  }
  const store = log.store;
  const chain = isChainSlice(q);
  const from = Math.max(1, Math.floor(fromSeq ?? 1));
  const to = toSeq ?? (chain ? ((await store.head({ tenantId: q.tenantId }))?.seq ?? 0) : null);
  let prevHash = GENESIS_HASH;
  if (chain && from > 1)
    prevHash = (await store.range({ tenantId: q.tenantId, fromSeq: from - 1, toSeq: from - 1, limit: 1 }))[0]?.hash ?? "";
  const cps = (checkpoints ? [...checkpoints] : log.lastCheckpoint ? [log.lastCheckpoint] : [])
    .map((cp) => checkpointProof(cp, q.tenantId))
    .filter((p): p is CheckpointProof => p !== null);
  const header: ExportHeader = {
    type: "header",
    format: EXPORT_FORMAT,
    v: 1,
    tenantId: q.tenantId,
    exportedAt: new Date().toISOString(),
    chain,
    fromSeq: chain ? from : 1,
    toSeq: to,
    prevHash,
    filters: JSON.parse(JSON.stringify(filters)) as Record<string, unknown>,
    checkpoints: cps,
  };
  async function* rows(): AsyncGenerator<AuditRecord> {
    if (chain) {
      let cursor = from;
      while (to === null || cursor <= to) {
        const page = await store.range({ tenantId: q.tenantId, fromSeq: cursor, ...(to !== null ? { toSeq: to } : {}), limit: pageSize });
        for (const r of page) yield r;
        if (page.length < pageSize) return;
        cursor = Number(page[page.length - 1]!.seq) + 1;
      }
      return;
    }
    let cursor: string | null = null;
    do {
      const page = await store.query({ ...q, limit: Math.min(pageSize, 1000), cursor });
      for (const r of page.items) yield r;
      cursor = page.nextCursor;
    } while (cursor);
  }
  return { header, rows };
}

/**
 * Streams an export as JSON lines: a header, one `{"type":"entry","record":...}` per entry
 * (as stored, chain fields and sealed ciphertext included, so it verifies offline), then a
 * trailer with the count. Reads page by page: never the whole log in memory.
 * @throws ValidationError (on first read) for bad filters.
 */
export function exportJsonl(log: AuditLog<string>, input: ExportInput = {}): Readable {
  async function* lines(): AsyncGenerator<string> {
    const p = await plan(log, input);
    const headerLine = JSON.stringify(p.header);
    yield `${headerLine}\n`;
    let count = 0;
    let first: number | null = null;
    let last: AuditRecord | null = null;
    for await (const r of p.rows()) {
      count++;
      first ??= Number(r.seq);
      last = r;
      yield `{"type":"entry","record":${JSON.stringify(r)}}\n`;
    }
    const end: ExportTrailer = {
      type: "end",
      count,
      firstSeq: first,
      lastSeq: last ? Number(last.seq) : null,
      lastHash: last?.hash ?? null,
      headerDigest: sha256Hex(headerLine),
    };
    const signed = log.signExport?.(exportTrailerSigningInput(end));
    yield `${JSON.stringify(signed ? { ...end, ...signed } : end)}\n`;
  }
  return Readable.from(lines(), { objectMode: false });
}

/**
 * Streams an export as CSV (RFC 4180, header row of `CSV_COLUMNS`), chain fields included, and a
 * last row `CSV_TRAILER_MARK,<json>` (`CsvTrailer`: count, first/last seq, head hash, checkpoint
 * proofs; signed with the log's checkpoint key when it has one). Cells that a spreadsheet would
 * run as a formula are prefixed with "'".
 * @throws ValidationError (on first read) for bad filters.
 */
export function exportCsv(log: AuditLog<string>, input: ExportInput = {}): Readable {
  async function* lines(): AsyncGenerator<string> {
    const p = await plan(log, input);
    yield `${CSV_COLUMNS.join(",")}\r\n`;
    let count = 0;
    let first: number | null = null;
    let last: AuditRecord | null = null;
    for await (const r of p.rows()) {
      count++;
      first ??= Number(r.seq);
      last = r;
      yield recordToCsvRow(r);
    }
    const h = p.header;
    const end: CsvTrailer = {
      type: "csv-end",
      tenantId: h.tenantId,
      chain: h.chain,
      fromSeq: h.fromSeq,
      toSeq: h.toSeq,
      prevHash: h.prevHash,
      count,
      firstSeq: first,
      lastSeq: last ? Number(last.seq) : null,
      lastHash: last?.hash ?? null,
      checkpoints: h.checkpoints,
    };
    const signed = log.signExport?.(exportTrailerSigningInput(end));
    yield csvTrailerRow(signed ? { ...end, ...signed } : end);
  }
  return Readable.from(lines(), { objectMode: false });
}
