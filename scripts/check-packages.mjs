// Checks the shape every publishable package must have, from its package.json and its dist/:
// exports with "types" first in each branch, sideEffects false, files ["dist", ...], peer @ops/core,
// a LICENSE file identical to the root one (npm packs it into every tarball whatever "files" says),
// and every file the exports map points at exists after the build.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const roots = ["packages", "adapters"];
const problems = [];
const license = readFileSync("LICENSE", "utf8");
for (const root of roots) {
  for (const dir of readdirSync(root)) {
    const base = join(root, dir);
    if (!existsSync(join(base, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(base, "package.json"), "utf8"));
    if (pkg.private) continue;
    const p = (msg) => problems.push(`${pkg.name}: ${msg}`);
    if (pkg.type !== "module") p('"type" must be "module"');
    if (pkg.sideEffects !== false) p('"sideEffects" must be false');
    if (!Array.isArray(pkg.files) || !pkg.files.includes("dist")) p('"files" must include "dist"');
    if (pkg.license !== "MIT") p('"license" must be "MIT"');
    if (!existsSync(join(base, "LICENSE"))) p(`has no LICENSE file (run: cp LICENSE ${base}/LICENSE)`);
    else if (readFileSync(join(base, "LICENSE"), "utf8") !== license)
      p(`LICENSE differs from the root LICENSE (run: cp LICENSE ${base}/LICENSE)`);
    if (pkg.name !== "@ops/core") {
      if (!pkg.peerDependencies?.["@ops/core"]) p("@ops/core must be a peer dependency");
      if (pkg.dependencies?.["@ops/core"]) p("@ops/core must not be a direct dependency");
    }
    // Every bare import in src/ must be a declared dependency or peer (the published package has
    // no workspace root to fall back on).
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), pkg.name]);
    const walk = (d) =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith(".ts") ? [join(d, e.name)] : [],
      );
    for (const file of existsSync(join(base, "src")) ? walk(join(base, "src")) : []) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2];
        if (!spec || spec.startsWith(".") || spec.startsWith("node:")) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        if (!declared.has(name)) p(`${file} imports "${spec}" but "${name}" is not a dependency or peer dependency`);
      }
    }
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      if (typeof target === "string") continue;
      for (const branch of ["import", "require"]) {
        const b = target[branch];
        if (!b) {
          p(`exports["${sub}"] lacks "${branch}"`);
          continue;
        }
        if (Object.keys(b)[0] !== "types") p(`exports["${sub}"].${branch}: "types" must come first`);
        for (const file of Object.values(b))
          if (!existsSync(join(base, file))) p(`exports["${sub}"].${branch} points at missing ${file} (build first)`);
      }
    }
  }
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("package shapes: ok");
