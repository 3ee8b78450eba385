import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  target: "es2022",
  platform: "node",
  sourcemap: true,
  // The UI is built next (vite build into dist/ui) after tsup has cleaned dist.
  clean: true,
  treeshake: true,
  // import.meta.url locates dist/ui from the CJS build too.
  shims: true,
});
