import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  // ES2022 keeps async/await native: down-levelled generators cost microseconds per call.
  target: "es2022",
  platform: "node",
  sourcemap: true,
  clean: true,
  treeshake: true,
});
