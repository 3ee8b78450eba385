import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";

/**
 * `@ops/flags/client` runs in browsers and edge runtimes: it imports only error classes from
 * @ops/core, whose index also pulls Node APIs and zod, so its build inlines core's errors module.
 */
export const clientAlias = { "@ops/core": fileURLToPath(new URL("../core/src/errors.ts", import.meta.url)) };

export default defineConfig([
  {
    entry: { index: "src/index.ts", openfeature: "src/openfeature/index.ts", otel: "src/otel/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    // ES2022 keeps async/await native: down-levelled generators cost microseconds per call.
    target: "es2022",
    platform: "node",
    sourcemap: true,
    clean: true,
    treeshake: true,
  },
  {
    entry: { client: "src/client/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    target: "es2022",
    // "browser" makes the build fail on any Node built-in reaching the client.
    platform: "browser",
    sourcemap: true,
    clean: false,
    treeshake: true,
    esbuildOptions(options) {
      options.alias = clientAlias;
    },
  },
]);
