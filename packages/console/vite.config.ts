import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The console UI, built into dist/ui at package build time: relative asset URLs (served under any
// basePath), no inline scripts (the CSP allows 'self' only), no external URLs.
export default defineConfig({
  root: fileURLToPath(new URL("./ui", import.meta.url)),
  base: "./",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: fileURLToPath(new URL("./dist/ui", import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: "es2022",
    sourcemap: false,
  },
});
