import type { AuditRecord, JsonObject, SealedFields } from "@ops/core";

/** Columns of the CSV export, in order. `meta` and `sealed` are JSON text. */
export const CSV_COLUMNS = [
  "seq",
  "id",
  "tenantId",
  "ts",
  "env",
  "action",
  "actorId",
  "actorType",
  "actorIp",
  "actorUserAgent",
  "subjectId",
  "subjectType",
  "targetId",
  "targetType",
  "targetName",
  "outcome",
  "reason",
  "surface",
  "requestId",
  "correlationId",
  "meta",
  "sealed",
  "prevHash",
  "hash",
] as const;

const NEEDS_QUOTES = /[",\r\n]/;
// Spreadsheet formula injection: a cell starting with one of these is prefixed with "'"; a
// leading "'" is itself escaped the same way, so the prefix can always be removed exactly.
const FORMULA_START = /^[=+\-@\t\r']/;

/** One CSV cell: `null`/`undefined` is an empty cell, an empty string is `""`. */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "";
  let s = typeof v === "number" ? String(v) : v;
  if (typeof v === "string" && FORMULA_START.test(s)) s = `'${s}`;
  return s === "" || NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function recordToCsvRow(r: AuditRecord): string {
  return (
    [
      r.seq,
      r.id,
      r.tenantId,
      r.ts,
      r.env,
      r.action,
      r.actor.id,
      r.actor.type,
      r.actor.ip,
      r.actor.userAgent,
      r.subject?.id,
      r.subject?.type,
      r.target?.id,
      r.target?.type,
      r.target?.name,
      r.outcome,
      r.reason,
      r.surface,
      r.requestId,
      r.correlationId,
      JSON.stringify(r.meta ?? {}),
      r.sealed ? JSON.stringify(r.sealed) : null,
      r.prevHash,
      r.hash,
    ]
      .map(csvCell)
      .join(",") + "\r\n"
  );
}

/** First cell of a CSV export's trailer row. */
export const CSV_TRAILER_MARK = "#ops-audit-end";

/** The trailer row: the mark, then the trailer as JSON text. */
export function csvTrailerRow(trailer: object): string {
  return `${CSV_TRAILER_MARK},${csvCell(JSON.stringify(trailer))}\r\n`;
}

/** A parsed cell: null for an empty unquoted cell. */
type Cell = string | null;

/** Streams RFC 4180 rows out of text chunks (quoted cells may hold commas and newlines). */
export async function* parseCsv(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<Cell[]> {
  let row: Cell[] = [];
  let cell = "";
  let quoted = false;
  let inQuotes = false;
  let pendingQuote = false;
  let any = false;
  const endCell = () => {
    row.push(quoted ? cell : cell === "" ? null : cell);
    cell = "";
    quoted = false;
  };
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (pendingQuote) {
        pendingQuote = false;
        if (ch === '"') {
          cell += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (ch === '"') pendingQuote = true;
        else cell += ch;
        continue;
      }
      any = true;
      if (ch === '"' && cell === "") {
        inQuotes = true;
        quoted = true;
      } else if (ch === ",") endCell();
      else if (ch === "\n") {
        endCell();
        yield row;
        row = [];
        any = false;
      } else if (ch !== "\r") cell += ch;
    }
  }
  if (any || row.length > 0) {
    endCell();
    yield row;
  }
}

function unformula(c: Cell): Cell {
  return c !== null && c.startsWith("'") && c.length > 1 && /[=+\-@\t\r']/.test(c[1]!) ? c.slice(1) : c;
}

/** Rebuilds a record from a CSV row of `CSV_COLUMNS`. Throws SyntaxError on a malformed row. */
export function csvRowToRecord(cells: readonly Cell[]): AuditRecord {
  if (cells.length !== CSV_COLUMNS.length) throw new SyntaxError(`expected ${CSV_COLUMNS.length} columns, got ${cells.length}`);
  const c = cells.map(unformula);
  const opt = (i: number) => c[i] ?? undefined;
  const r: AuditRecord = {
    seq: Number(c[0]),
    id: c[1] ?? "",
    tenantId: c[2] ?? null,
    ts: c[3] ?? "",
    env: c[4] ?? "",
    action: c[5] ?? "",
    actor: { id: c[6] ?? "", type: (c[7] ?? "user") as AuditRecord["actor"]["type"], ip: opt(8) ?? null, userAgent: opt(9) ?? null },
    outcome: (c[15] ?? "unknown") as AuditRecord["outcome"],
    reason: opt(16) ?? null,
    surface: opt(17) ?? null,
    requestId: opt(18) ?? null,
    correlationId: opt(19) ?? null,
    meta: JSON.parse(c[20] ?? "{}") as JsonObject,
    sealed: c[21] ? (JSON.parse(c[21]) as SealedFields) : null,
    prevHash: c[22] ?? "",
    hash: c[23] ?? "",
  };
  if (c[10] !== null) r.subject = { id: c[10]!, type: opt(11) ?? null };
  if (c[12] !== null) r.target = { id: c[12]!, type: opt(13) ?? null, name: opt(14) ?? null };
  return r;
}
