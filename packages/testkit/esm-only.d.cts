// @ops/testkit is ESM-only: `require("@ops/testkit")` throws. Import it from an ES module.
declare const esmOnly: never;
export = esmOnly;
