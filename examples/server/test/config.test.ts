import { describe, expect, it } from "vitest";
import { ConfigError } from "@ops/core";
import { DEFAULT_DATA_DIR, loadServiceConfig } from "../src/config.js";

describe("environment", () => {
  it("defaults to PGlite on disk, the log channel's variables untouched", () => {
    const c = loadServiceConfig({});
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 3000,
      env: "dev",
      dbDriver: "drizzle",
      databaseUrl: undefined,
      redisUrl: undefined,
      mitigation: "apply",
    });
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(DEFAULT_DATA_DIR).toMatch(/examples[/\\]server[/\\]data[/\\]pglite$/);
  });

  it("names every bad variable and never echoes a value", () => {
    const secret = "postgres-with-a-password-in-it";
    let err: unknown;
    try {
      loadServiceConfig({
        PORT: "http",
        DATABASE_URL: `mysql://u:${secret}@h/db`,
        OPS_MITIGATION: "maybe",
        OPS_TENANT_JWT_SECRET: "short",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues.map((i) => i.path).sort()).toEqual(["DATABASE_URL", "OPS_MITIGATION", "OPS_TENANT_JWT_SECRET", "PORT"]);
    expect(e.message).toMatch(/^\[ops\/example-server\] invalid environment: /);
    expect(e.message).not.toContain(secret);
  });

  it("treats empty strings as unset", () => {
    expect(loadServiceConfig({ DATABASE_URL: " ", REDIS_URL: "" })).toMatchObject({ databaseUrl: undefined, redisUrl: undefined });
  });
});
