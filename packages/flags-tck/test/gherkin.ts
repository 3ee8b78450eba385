/**
 * A small Gherkin reader for the provider TCK's feature files: Feature (with tags and a
 * Background), Scenario, Scenario Outline / Template with one or more (named, tagged) Examples
 * tables, steps with Given/When/Then/And/But/*, data tables attached to steps, `#` comments and
 * doc strings. Anything else is a parse error naming the file and line: a construct this reader
 * does not understand must fail the suite, never drop a step silently.
 */

export interface Step {
  keyword: string;
  text: string;
  table: string[][] | null;
  line: number;
}

export interface Scenario {
  feature: string;
  name: string;
  /** Feature tags, scenario tags and (for an outline row) the Examples block's tags. */
  tags: string[];
  steps: Step[];
  line: number;
}

const STEP = /^(Given|When|Then|And|But|\*)\s+(.*)$/;

function cells(line: string): string[] {
  const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === "\\" && i + 1 < body.length) {
      const next = body[i + 1]!;
      cur += next === "n" ? "\n" : next;
      i++;
    } else if (ch === "|") {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

interface Block {
  kind: "background" | "scenario" | "outline";
  name: string;
  tags: string[];
  steps: Step[];
  examples: { tags: string[]; header: string[]; rows: string[][]; line: number }[];
  line: number;
}

/** Parses one feature file into runnable scenarios (outlines expanded row by row). */
export function parseFeature(source: string, file: string): Scenario[] {
  const lines = source.split(/\r?\n/);
  let feature = "";
  let featureTags: string[] = [];
  let pendingTags: string[] = [];
  let background: Block | null = null;
  const blocks: Block[] = [];
  let current: Block | null = null;
  let inExamples: Block["examples"][number] | null = null;
  let lastStep: Step | null = null;
  let docString: string | null = null;
  const fail = (n: number, why: string): never => {
    throw new Error(`${file}:${n}: ${why}`);
  };

  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!;
    const line = raw.trim();
    if (docString !== null) {
      if (line === docString) docString = null;
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    if (line === '"""' || line === "```") {
      if (!lastStep) fail(n, "a doc string outside a step");
      docString = line;
      continue;
    }
    if (line.startsWith("@")) {
      pendingTags.push(...line.split(/\s+/).filter((t) => t.startsWith("@")));
      continue;
    }
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^Feature:\s*(.*)$/))) {
      feature = m[1]!.trim();
      featureTags = pendingTags;
      pendingTags = [];
      continue;
    }
    if ((m = line.match(/^Background:\s*(.*)$/))) {
      current = background = { kind: "background", name: m[1]!.trim(), tags: [], steps: [], examples: [], line: n };
      inExamples = null;
      lastStep = null;
      continue;
    }
    if ((m = line.match(/^(Scenario Outline|Scenario Template|Scenario|Example):\s*(.*)$/))) {
      const kind = m[1] === "Scenario" || m[1] === "Example" ? "scenario" : "outline";
      current = { kind, name: m[2]!.trim(), tags: pendingTags, steps: [], examples: [], line: n };
      pendingTags = [];
      blocks.push(current);
      inExamples = null;
      lastStep = null;
      continue;
    }
    if ((m = line.match(/^(Examples|Scenarios):\s*(.*)$/))) {
      if (!current || current.kind !== "outline") fail(n, "Examples outside a Scenario Outline");
      inExamples = { tags: pendingTags, header: [], rows: [], line: n };
      pendingTags = [];
      current!.examples.push(inExamples);
      lastStep = null;
      continue;
    }
    if (line.startsWith("|")) {
      const row = cells(line);
      if (inExamples) {
        if (inExamples.header.length === 0) inExamples.header = row;
        else if (row.length !== inExamples.header.length)
          fail(n, `an Examples row with ${row.length} cells under a header of ${inExamples.header.length}`);
        else inExamples.rows.push(row);
      } else if (lastStep) (lastStep.table ??= []).push(row);
      else fail(n, "a table row outside a step or Examples");
      continue;
    }
    if ((m = line.match(STEP))) {
      if (!current) fail(n, "a step outside a scenario");
      if (inExamples) fail(n, "a step after Examples");
      lastStep = { keyword: m[1]!, text: m[2]!.trim(), table: null, line: n };
      current!.steps.push(lastStep);
      continue;
    }
    // Free text right under "Feature:" is its description.
    if (blocks.length === 0 && background === null && feature !== "") continue;
    fail(n, `cannot read "${line.slice(0, 60)}"`);
  }

  const out: Scenario[] = [];
  const bg = background?.steps ?? [];
  for (const b of blocks) {
    const tags = [...featureTags, ...b.tags];
    if (b.kind === "scenario") {
      out.push({ feature, name: b.name, tags, steps: [...bg, ...b.steps], line: b.line });
      continue;
    }
    if (b.examples.length === 0) fail(b.line, `Scenario Outline "${b.name}" has no Examples`);
    for (const ex of b.examples)
      ex.rows.forEach((row, r) => {
        const sub = (s: string) =>
          s.replace(/<([^<>]+)>/g, (all, name: string) => {
            const at = ex.header.indexOf(name);
            return at < 0 ? all : row[at]!;
          });
        const label = ex.header.map((h, k) => `${h}=${row[k]}`).join(", ");
        out.push({
          feature,
          name: `${b.name} [${label}]`,
          tags: [...tags, ...ex.tags],
          steps: [...bg, ...b.steps.map((s) => ({ ...s, text: sub(s.text), table: s.table?.map((rw) => rw.map(sub)) ?? null }))],
          line: ex.line + 2 + r,
        });
      });
  }
  return out;
}
