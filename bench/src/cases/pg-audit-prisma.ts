// The Prisma side of the PostgreSQL audit-append comparison. The case lives in
// adapters/prisma/bench (it needs the Prisma client generated from the adapter's schema fragment).
export { default } from "../../../adapters/prisma/bench/pg-audit-prisma.js";
