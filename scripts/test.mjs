// Runs the whole vitest suite and ends with one plain summary line ("N passed, N failed, N skipped"),
// keeping vitest's exit code. Extra arguments go to vitest.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const out = join(process.cwd(), ".vitest-results.json");
rmSync(out, { force: true });
const res = spawnSync(
  process.execPath,
  [
    join("node_modules", "vitest", "vitest.mjs"),
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${out}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);
let code = res.status ?? 1;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) {
    console.error("no test ran");
    code = code || 1;
  }
} else {
  console.error("vitest wrote no results");
  code = code || 1;
}
process.exit(code);
