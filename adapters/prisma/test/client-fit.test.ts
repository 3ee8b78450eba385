import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPrismaClientPath } from "./helpers/db.js";

const pkgDir = join(import.meta.dirname, "..");

describe("a generated PrismaClient fits prismaStores() without casts", () => {
  it("typechecks typecheck/client-fit.ts against the client generated from prisma/ops.prisma", async () => {
    await loadPrismaClientPath();
    const tsconfig = join(pkgDir, ".generated", "tsconfig.fit.json");
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: "../../../tsconfig.base.json",
        compilerOptions: { allowImportingTsExtensions: true, noEmit: true, skipLibCheck: true },
        files: ["../typecheck/client-fit.ts"],
      }),
    );
    const tsc = join(pkgDir, "..", "..", "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", tsconfig], { cwd: pkgDir, encoding: "utf8", stdio: "pipe" });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  }, 120_000);
});
