export * from "./rls-sql.js";
