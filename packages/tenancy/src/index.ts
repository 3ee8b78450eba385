export * from "./tenant-scope.js";
export * from "./leak-guard.js";
export * from "./scoped-stores.js";
export * from "./rls-sql.js";
export * from "./with-tenant.js";
export * from "./prisma.js";
