// Runs every case in ./cases and writes a markdown table of figures and ratios.
// `pnpm bench` (full) or `pnpm bench --quick` (smaller inputs). Output: stdout and bench/results/latest.md.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchCase, BenchRow } from "./types.js";

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return "";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function renderTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| group | subject | ops/s | ns/op | p50 ms | p99 ms | ratio (ours / this) | note |",
    "|---|---|---:|---:|---:|---:|---:|---|",
  ];
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const g of groups) {
    const inGroup = rows.filter((r) => r.group === g);
    const ours = inGroup.find((r) => r.ours);
    for (const r of inGroup) {
      let ratio = "";
      if (ours && !r.ours && ours.opsPerSec && r.opsPerSec) ratio = `${fmt(ours.opsPerSec / r.opsPerSec, 2)}x`;
      if (ours && !r.ours && ours.p99Ms && r.p99Ms) ratio = `${fmt(r.p99Ms / ours.p99Ms, 2)}x faster p99`;
      lines.push(
        `| ${g} | ${r.ours ? `**${r.subject}**` : r.subject} | ${fmt(r.opsPerSec)} | ${r.opsPerSec ? fmt(1e9 / r.opsPerSec) : ""} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${ratio} | ${r.note ?? ""} |`,
      );
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const files = readdirSync(join(here, "cases"))
    .filter((f) => f.endsWith(".ts"))
    .filter((f) => !only || f.includes(only))
    .sort();
  const rows: BenchRow[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, "cases", f)).href)) as { default: BenchCase };
    process.stderr.write(`bench: ${mod.default.name}...\n`);
    try {
      rows.push(...(await mod.default.run({ quick })));
    } catch (err) {
      rows.push({ group: mod.default.name, subject: "(failed)", note: String((err as Error).message ?? err) });
    }
  }
  const table = `# @ops benchmarks (${new Date().toISOString()}, node ${process.version}${quick ? ", quick" : ""})\n\n${renderTable(rows)}\n`;
  const out = join(here, "..", "results", "latest.md");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, table);
  process.stdout.write(table);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
