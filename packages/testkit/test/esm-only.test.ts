import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("@ops/testkit is ESM-only", () => {
  it("require() fails with a message that says so and what to do", () => {
    // A plain node process (no vitest, no source condition): what a CommonJS user runs.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ["-e", 'require("@ops/testkit")'], { cwd: pkgDir, env, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /\[ops\/testkit\] @ops\/testkit is ESM-only \(vitest is ESM-only\): use `import \{ \.\.\. \} from "@ops\/testkit"`/,
    );
  });
});
