// The loopback TCP proxy the PostgreSQL adapter tests cut and restore (one copy, shared).
export * from "../../../postgres/test/support/tcp-proxy.js";
