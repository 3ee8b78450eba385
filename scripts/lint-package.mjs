// Lints one built package (cwd) the way npm users will consume it:
// publint over the packed tarball, then attw over the same tarball (which must carry LICENSE
// and README.md).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = (name) => join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin", name);

const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });
run(bin("publint"), ["--strict", "--pack", "pnpm"]);
const dir = mkdtempSync(join(tmpdir(), "ops-pack-"));
try {
  execFileSync("pnpm", ["pack", "--pack-destination", dir], { stdio: "ignore" });
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error("pnpm pack produced no tarball");
  const listing = execFileSync("tar", ["-tzf", join(dir, tgz)], { encoding: "utf8" }).split("\n");
  for (const file of ["package/LICENSE", "package/README.md", "package/package.json"])
    if (!listing.includes(file)) throw new Error(`the tarball ${tgz} lacks ${file.slice("package/".length)}`);
  // --ignore-rules cjs-resolves-to-esm: none of ours do; node10 is not a target (exports-only).
  run(bin("attw"), [join(dir, tgz), "--profile", "node16"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
