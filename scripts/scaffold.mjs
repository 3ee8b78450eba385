// Creates a package skeleton with the shape every @ops package shares.
// Usage: node scripts/scaffold.mjs <dir> <name> "<description>" [json-overrides]
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, name, description, overrides = "{}"] = process.argv.slice(2);
if (!dir || !name) throw new Error("usage: scaffold.mjs <dir> <name> <description> [overrides]");
const extra = JSON.parse(overrides);
mkdirSync(join(dir, "src"), { recursive: true });
mkdirSync(join(dir, "test"), { recursive: true });
// npm packs LICENSE into the tarball whatever "files" says; check-packages.mjs wants this copy.
copyFileSync("LICENSE", join(dir, "LICENSE"));

const entry = (sub) => ({
  "@ops/source": `./src/${sub}.ts`,
  import: { types: `./dist/${sub}.d.ts`, default: `./dist/${sub}.js` },
  require: { types: `./dist/${sub}.d.cts`, default: `./dist/${sub}.cjs` },
});
const entries = extra.entries ?? ["index"];
const exportsMap = {};
for (const e of entries) exportsMap[e === "index" ? "." : `./${e}`] = entry(e);
exportsMap["./package.json"] = "./package.json";

const pkg = {
  name,
  version: "0.0.0",
  description,
  license: "MIT",
  type: "module",
  sideEffects: false,
  files: ["dist"],
  main: "./dist/index.cjs",
  module: "./dist/index.js",
  types: "./dist/index.d.ts",
  exports: exportsMap,
  ...(extra.bin ? { bin: extra.bin } : {}),
  scripts: {
    build: "tsup",
    typecheck: "tsc -p tsconfig.json",
    "lint:package": "node ../../scripts/lint-package.mjs",
  },
  engines: { node: ">=20.11" },
  ...(extra.dependencies ? { dependencies: extra.dependencies } : {}),
  ...(extra.peerDependencies ? { peerDependencies: extra.peerDependencies } : {}),
  ...(extra.peerDependenciesMeta ? { peerDependenciesMeta: extra.peerDependenciesMeta } : {}),
  ...(extra.devDependencies ? { devDependencies: extra.devDependencies } : {}),
  publishConfig: { access: "public" },
};
if (extra.private) pkg.private = true;
if (!existsSync(join(dir, "package.json")) || extra.force) writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");

const tsupEntries = Object.fromEntries(entries.map((e) => [e, `src/${e}.ts`]));
writeFileSync(
  join(dir, "tsup.config.ts"),
  `import { defineConfig } from "tsup";

export default defineConfig({
  entry: ${JSON.stringify(tsupEntries)},
  format: ["esm", "cjs"],
  dts: true,
  // ES2022 keeps async/await native: down-levelled generators cost microseconds per call.
  target: "es2022",
  platform: "node",
  sourcemap: true,
  clean: true,
  treeshake: true,
});
`,
);
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src", "test"] }, null, 2) + "\n",
);
