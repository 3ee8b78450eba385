/**
 * A tiny SQL builder: tagged templates whose interpolations become bind parameters (`$1`, `$2`,
 * ...) unless they are fragments themselves. Every statement of the stores is built with it, so
 * no value is ever spliced into SQL text.
 */
export class Sql {
  /** Text pieces and parameter slots, flattened: strings are SQL text, boxes are values. */
  constructor(readonly chunks: ReadonlyArray<string | { readonly v: unknown }>) {}
}

export interface CompiledSql {
  text: string;
  params: unknown[];
}

function build(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const chunks: Array<string | { v: unknown }> = [];
  for (let i = 0; i < strings.length; i++) {
    chunks.push(strings[i]!);
    if (i < values.length) {
      const value = values[i];
      if (value instanceof Sql) chunks.push(...value.chunks);
      else chunks.push({ v: value });
    }
  }
  return new Sql(chunks);
}

/** `sql\`... ${value} ...\``: values are parameters, `Sql` fragments are spliced. */
export const sql = Object.assign(build, {
  /** Trusted SQL text (identifiers we built, keywords): never user input. */
  raw: (text: string): Sql => new Sql([text]),
  /** The fragments separated by `separator` (default `, `). */
  join(parts: readonly Sql[], separator: Sql | string = ", "): Sql {
    const sep = typeof separator === "string" ? [separator] : separator.chunks;
    const chunks: Array<string | { v: unknown }> = [];
    parts.forEach((p, i) => {
      if (i > 0) chunks.push(...sep);
      chunks.push(...p.chunks);
    });
    return new Sql(chunks);
  },
  empty: new Sql([]),
});

/** The statement text with `$n` placeholders and its parameters. */
export function compile(statement: Sql): CompiledSql {
  let text = "";
  const params: unknown[] = [];
  for (const c of statement.chunks) {
    if (typeof c === "string") text += c;
    else {
      params.push(c.v);
      text += `$${params.length}`;
    }
  }
  return { text, params };
}

/** A double-quoted identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
