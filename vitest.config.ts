import { defineConfig } from "vitest/config";

// Sibling packages resolve to their TypeScript sources through the "@ops/source" export
// condition, so tests need no prior build.
const conditions = ["@ops/source", "node", "import", "module", "default"];

export default defineConfig({
  resolve: { conditions },
  // Vitest also passes ssr conditions to the test processes as `node --conditions`, where
  // "import" would make CJS packages' require() pick ESM entries (pg -> pg-pool breaks). Vite adds
  // "import"/"require" by itself per import kind, so it is left out here.
  // "module" goes too: packages such as @opentelemetry/api map it to bundler-only ESM builds
  // (extensionless imports) that Node cannot load.
  ssr: { resolve: { conditions: conditions.filter((c) => c !== "import" && c !== "module") } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "adapters/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
