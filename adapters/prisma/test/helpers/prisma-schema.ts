/** A small reader of the Prisma schema language, enough to compare prisma/ops.prisma with SQL. */

export interface PrismaField {
  name: string;
  column: string;
  type: string;
  optional: boolean;
  id: boolean;
  nativeType: string | null;
}

export interface PrismaIndex {
  name: string;
  unique: boolean;
  columns: string[];
}

export interface PrismaModel {
  name: string;
  table: string;
  fields: PrismaField[];
  indexes: PrismaIndex[];
}

function stripComments(line: string): string {
  const i = line.indexOf("//");
  return (i === -1 ? line : line.slice(0, i)).trim();
}

export function parsePrismaModels(source: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  const blocks = source.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm);
  for (const [, name, body] of blocks) {
    const model: PrismaModel = { name: name!, table: name!, fields: [], indexes: [] };
    const pending: Array<{ unique: boolean; fields: string[]; map: string | null }> = [];
    let compositeId: string[] = [];
    for (const raw of body!.split("\n")) {
      const line = stripComments(raw);
      if (line === "") continue;
      if (line.startsWith("@@id(")) {
        compositeId = /\[([^\]]*)\]/
          .exec(line)![1]!
          .split(",")
          .map((f) => f.trim());
      } else if (line.startsWith("@@map(")) {
        model.table = /@@map\("([^"]+)"\)/.exec(line)![1]!;
      } else if (line.startsWith("@@unique(") || line.startsWith("@@index(")) {
        const list = /\[([^\]]*)\]/.exec(line)![1]!;
        pending.push({
          unique: line.startsWith("@@unique("),
          fields: list.split(",").map((f) => f.trim().replace(/\(.*\)$/, "")),
          map: /map:\s*"([^"]+)"/.exec(line)?.[1] ?? null,
        });
      } else if (!line.startsWith("@@")) {
        const m = /^(\w+)\s+(\w+)(\?|\[\])?\s*(.*)$/.exec(line);
        if (!m) throw new Error(`cannot read field line in ${name}: ${line}`);
        const attrs = m[4] ?? "";
        model.fields.push({
          name: m[1]!,
          column: /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? m[1]!,
          type: m[2]!,
          optional: m[3] === "?",
          id: /(^|\s)@id(\s|$)/.test(attrs),
          nativeType: /@db\.(\w+(?:\([^)]*\))?)/.exec(attrs)?.[1] ?? null,
        });
      }
    }
    for (const f of model.fields) if (compositeId.includes(f.name)) f.id = true;
    for (const p of pending) {
      if (!p.map) throw new Error(`${name}: every @@index/@@unique needs map: "<sql name>"`);
      const columns = p.fields.map((f) => {
        const field = model.fields.find((x) => x.name === f);
        if (!field) throw new Error(`${name}: index ${p.map} names unknown field ${f}`);
        return field.column;
      });
      model.indexes.push({ name: p.map, unique: p.unique, columns });
    }
    models.push(model);
  }
  return models;
}

/** The PostgreSQL type (information_schema `data_type`) Prisma maps a scalar to. */
export function expectedSqlType(field: PrismaField): string {
  if (field.nativeType?.startsWith("Timestamptz")) return "timestamp with time zone";
  switch (field.type) {
    case "String":
      return "text";
    case "BigInt":
      return "bigint";
    case "Int":
      return "integer";
    case "Boolean":
      return "boolean";
    case "Json":
      return "jsonb";
    case "Bytes":
      return "bytea";
    case "DateTime":
      return "timestamp without time zone";
    default:
      return `unsupported:${field.type}`;
  }
}
