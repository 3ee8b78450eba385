export { importUnleash } from "./unleash.js";
export { importLaunchDarkly } from "./launchdarkly.js";
export { importFlagd } from "./flagd.js";
export { applyImport } from "./apply.js";
export type { ImportResult, ImportedFlag, Unmapped } from "./result.js";
