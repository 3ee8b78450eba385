import { mkdtemp, rm } from "node:fs/promises";
import pg from "pg";
import { testPgAdminUrl, testPgUrl } from "@ops/testkit";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServiceConfig } from "../src/config.js";
import { jsonLogger } from "../src/logger.js";
import { createService, type Service } from "../src/service.js";

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // Answers are checked field by field in the tests.
  json: any;
}

export interface CallOptions {
  body?: unknown;
  raw?: string;
  tenant?: string;
  role?: "viewer" | "operator" | "admin" | "";
  actor?: string;
  anonymous?: boolean;
  headers?: Record<string, string>;
  /** Abort (the call rejects) when no answer arrived within this many milliseconds. */
  timeoutMs?: number;
}

export interface TestService {
  base: string;
  service: Service;
  /** Problems the service logged (warn/error lines). */
  problems: string[];
  /** Lines of the log notification channel. */
  notifications: string[];
  /**
   * One request. In trusted-header mode it carries a principal as a gateway would set it: actor
   * `test-<role>`, role `role` (default admin), `tenant` or the global scope; `anonymous` sends none.
   */
  call(method: string, path: string, o?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * The real service on an ephemeral 127.0.0.1 port. PGlite in a fresh temp dir unless `env` sets
 * DATABASE_URL. The runtime does not tick by itself (tests call POST /api/ops/tick) unless
 * OPS_TICK_MS is given.
 */
export async function startTestService(env: Record<string, string | undefined> = {}): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), "ops-example-test-"));
  const problems: string[] = [];
  const notifications: string[] = [];
  const config = loadServiceConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    OPS_ENV: "test",
    OPS_DATA_DIR: dataDir,
    OPS_MITIGATION: "suggest",
    OPS_TICK_MS: "3600000",
    OPS_BUCKET_MS: "1000",
    OPS_GROUP_WAIT_MS: "0",
    OPS_NOTIFY_POLL_MS: "100",
    APP_NAME: "ops-test",
    ...env,
  });
  const logger = jsonLogger((line, level) => {
    if (line.includes('"admin_notification"')) notifications.push(line);
    else if (level !== "info") problems.push(line);
  });
  let service: Service;
  try {
    service = await createService(config, { logger });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const base = await service.listen();
  return {
    base,
    service,
    problems,
    notifications,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (!o.anonymous) {
        const role = o.role ?? "admin";
        headers["x-ops-actor"] = o.actor ?? `test-${role || "app"}`;
        headers["x-ops-roles"] = role;
        if (o.tenant) headers["x-tenant-id"] = o.tenant;
        else headers["x-ops-scope"] = "global";
      }
      Object.assign(headers, o.headers);
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers["content-type"] ??= "application/json";
      const res = await fetch(base + path, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(o.timeoutMs !== undefined ? { signal: AbortSignal.timeout(o.timeoutMs) } : {}),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON (exports, metrics)
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a truthy value (bounded: the test fails with `what`). */
export async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A new PostgreSQL database owned by testPgUrl()'s role (CI: the non-superuser ops_test), which
 * the service then connects as and migrates; dropped by `drop()`.
 */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ops_example_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  // CREATE DATABASE needs the admin; the database belongs to testPgUrl()'s role (CI: the
  // non-superuser ops_test), which the service then connects as.
  const admin = new pg.Client({ connectionString: testPgAdminUrl() });
  await admin.connect();
  const owner = decodeURIComponent(new URL(testPgUrl()).username || "postgres");
  await admin.query(`CREATE DATABASE "${name}" OWNER "${owner.replace(/"/g, '""')}"`);
  await admin.end();
  const url = new URL(testPgUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: testPgAdminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
