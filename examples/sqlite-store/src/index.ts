export { FLAGS_DDL, SqliteFlagStore } from "./sqlite-flag-store.js";
