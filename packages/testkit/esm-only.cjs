// @ops/testkit is ESM-only: it registers vitest suites, and vitest is ESM-only. This file is what
// `require("@ops/testkit")` resolves to, so the mistake gets a clear message instead of a stack
// trace from inside vitest.
throw Object.assign(
  new Error(
    '[ops/testkit] @ops/testkit is ESM-only (vitest is ESM-only): use `import { ... } from "@ops/testkit"` ' +
      'in an ES module test file (a .mts file, or .ts/.js with "type": "module" in package.json), not require().',
  ),
  { code: "ERR_REQUIRE_ESM" },
);
