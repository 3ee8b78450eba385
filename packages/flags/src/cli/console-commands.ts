import { OpsError, type JsonValue } from "@ops/core";
import { consoleRequest, type ConsoleTarget } from "./console-client.js";

interface Summary {
  key: string;
  type: string | null;
  value: JsonValue;
  enabled: boolean;
  rollout: JsonValue;
  description: string | null;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

interface Detail extends Summary {
  config: Record<string, JsonValue>;
  schedule: JsonValue[];
  override: { tenantId: string; value: JsonValue; version: number; updatedAt: string; updatedBy: string } | null;
}

/** What a command needs from the CLI: its arguments, options and output. */
export interface ConsoleCommandIo {
  arg(i: number, what: string): string;
  value(i: number, what: string): JsonValue;
  reason(): string;
  usage(message: string): never;
  show(human: string, data: unknown): void;
  err(line: string): void;
  tenant: string | undefined;
  emergency: boolean;
  at: string | undefined;
  patch: string | undefined;
}

/** Commands the console API has no endpoint for: they need the store (DATABASE_URL / REDIS_URL). */
const STORE_ONLY = new Set(["diff", "export", "import", "propose", "requests", "approve", "reject"]);

const enc = encodeURIComponent;

/**
 * Runs one CLI command against a console's admin API (`/api/v1/flags...`) instead of the store.
 * The console acts as the token's principal: it decides permissions, tenant scope and the actor
 * its audit entries name, and serves its own environment.
 * @throws OpsError (the console's refusal, or UNSUPPORTED for a store-only command)
 */
export async function runConsoleCommand(t: ConsoleTarget, cmd: string, io: ConsoleCommandIo): Promise<number> {
  if (STORE_ONLY.has(cmd))
    throw new OpsError(
      "UNSUPPORTED",
      `[ops/flags] ${cmd} is not available through the console API (it has no endpoint for it): use DATABASE_URL or REDIS_URL`,
    );
  const env = "(console)";
  switch (cmd) {
    case "list": {
      const rows: Summary[] = [];
      let cursor: string | null = null;
      // Keyset pages until the console says there is no more (bounded: 1000 pages of 100).
      for (let i = 0; i < 1000; i++) {
        const page: { items: Summary[]; nextCursor: string | null } = await consoleRequest(
          t,
          "GET",
          `/flags?limit=100${cursor ? `&cursor=${enc(cursor)}` : ""}`,
        );
        rows.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      const out = rows
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .map((r) => ({ key: r.key, type: r.type, enabled: r.enabled, value: r.value, version: r.version, updatedBy: r.updatedBy }));
      io.show(
        out
          .map(
            (r) =>
              `${r.key.padEnd(32)} ${String(r.type).padEnd(8)} ${r.enabled === false ? "OFF" : "on "} v${r.version}  ${JSON.stringify(r.value)}`,
          )
          .join("\n") || "(no flags)",
        out,
      );
      return 0;
    }
    case "get": {
      const key = io.arg(0, "a flag key");
      let d: Detail;
      try {
        d = await consoleRequest<Detail>(t, "GET", `/flags/${enc(key)}${io.tenant ? `?tenant=${enc(io.tenant)}` : ""}`);
      } catch (err) {
        if (err instanceof OpsError && err.code === "NOT_FOUND") {
          io.err(`ops-flags: flag "${key}" does not exist in the console's environment`);
          return 1;
        }
        throw err;
      }
      const { override, schedule, config: extra, ...s } = d;
      const config = { type: s.type, enabled: s.enabled, value: s.value, ...extra, rollout: s.rollout, schedule };
      const flag = { config, version: s.version, updatedAt: s.updatedAt, updatedBy: s.updatedBy };
      const overrides = override ? [{ tenantId: override.tenantId, value: override.value, version: override.version }] : [];
      io.show(
        `${key} ${env} v${s.version} by ${s.updatedBy} at ${s.updatedAt}\n${JSON.stringify(config, null, 2)}\noverrides: ${
          overrides.length === 0 ? "none" : overrides.map((x) => `${x.tenantId}=${JSON.stringify(x.value)}`).join(", ")
        }`,
        { key, env, flag, overrides },
      );
      return 0;
    }
    case "set":
    case "override": {
      const key = io.arg(0, "a flag key");
      const value = io.value(1, `${cmd} ${key}`);
      if (cmd === "override" && !io.tenant) io.usage("override: --tenant is required");
      const reason = io.reason();
      const version = io.tenant
        ? (await consoleRequest<Detail>(t, "PUT", `/flags/${enc(key)}/overrides/${enc(io.tenant)}`, { value, reason })).override?.version
        : (await consoleRequest<Summary>(t, "PUT", `/flags/${enc(key)}/value`, { value, reason })).version;
      io.show(`${key}${io.tenant ? ` for tenant ${io.tenant}` : ""} = ${JSON.stringify(value)} ${env} (v${version})`, {
        key,
        env,
        tenantId: io.tenant ?? null,
        value,
        version,
      });
      return 0;
    }
    case "kill":
    case "enable": {
      const key = io.arg(0, "a flag key");
      if (io.emergency)
        throw new OpsError(
          "UNSUPPORTED",
          "[ops/flags] kill --emergency is not available through the console API: use DATABASE_URL or REDIS_URL",
        );
      const s = await consoleRequest<Summary>(t, "PUT", `/flags/${enc(key)}/enabled`, { enabled: cmd === "enable", reason: io.reason() });
      io.show(`${key} ${cmd === "kill" ? "killed (serving its off value)" : "enabled"} ${env} (v${s.version})`, {
        key,
        env,
        enabled: cmd === "enable",
        version: s.version,
      });
      return 0;
    }
    case "schedule": {
      const key = io.arg(0, "a flag key");
      if (!io.at || !io.patch) io.usage("schedule: --at and --patch are required");
      let patch: unknown;
      try {
        patch = JSON.parse(io.patch!);
      } catch {
        io.usage("schedule: --patch must be a JSON object");
      }
      const { id } = await consoleRequest<{ id: string }>(t, "POST", `/flags/${enc(key)}/schedule`, {
        at: io.at,
        patch,
        reason: io.reason(),
      });
      io.show(`scheduled ${id} for ${key} at ${io.at}`, { id, key, at: io.at });
      return 0;
    }
    default:
      return io.usage(`unknown command "${cmd}"`);
  }
}
