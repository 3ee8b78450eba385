// The full crash-safety run (#21 item 4): examples/server/test/crash-safety.test.ts with 20 SIGKILLs
// per layout (CI runs fewer), on PostgreSQL, PostgreSQL + Redis (the service's Redis layout, on a
// redis-server of the test's own) and PGlite. The test's checks are the verdict (flag versions, one
// FLAG_CHANGE each; incidents mitigated and notified; chains verify; every acknowledged signal
// stored once and counted); this case reports its figures per layout.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, BenchRow } from "../types.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

const bench: BenchCase = {
  name: "crash safety: 20 SIGKILLs per layout under mixed load",
  async run({ quick }) {
    const kills = quick ? 5 : 20;
    const dir = mkdtempSync(join(tmpdir(), "ops-crash-bench-"));
    const report = join(dir, "figures.jsonl");
    const t0 = Date.now();
    try {
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [vitest, "run", "examples/server/test/crash-safety.test.ts"], {
          cwd: root,
          env: { ...process.env, OPS_CRASH_CYCLES: String(kills), OPS_CRASH_REPORT: report },
          stdio: ["ignore", "inherit", "inherit"],
        });
        child.on("exit", (c) => resolve(c ?? 1));
      });
      let lines: string[] = [];
      try {
        lines = readFileSync(report, "utf8").trim().split("\n").filter(Boolean);
      } catch {
        // no layout got as far as its signal check
      }
      const group = `crash safety: ${kills} SIGKILLs per layout`;
      const rows: BenchRow[] = lines.map((l) => {
        const f = JSON.parse(l) as Record<string, number | string>;
        return {
          group,
          subject: String(f.layout),
          note: `signals sent ${f.sent}, acknowledged (202) ${f.acknowledged}, stored ${f.stored}, counted ${f.counted}, acknowledged but lost ${f.lost}, refused (503) ${f.refused}`,
        };
      });
      rows.push({
        group,
        subject: code === 0 ? "verdict: every check held" : "verdict: FAILED",
        ours: true,
        note: `vitest exit ${code}; ${((Date.now() - t0) / 1000).toFixed(0)} s in all`,
      });
      if (code !== 0) process.exitCode = 1;
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
