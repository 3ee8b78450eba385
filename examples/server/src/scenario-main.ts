// `pnpm demo` (the README's first command): the scenario, exit code 0 only if every step held.
import { runScenario } from "./scenario.js";

runScenario().then(
  (r) => process.exit(r.ok ? 0 : 1),
  (err: unknown) => {
    console.error("the scenario could not run:", err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
