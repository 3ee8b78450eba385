import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { OpsError, type FlagRecord, type JsonValue } from "@ops/core";
import { FlagChangeRequests } from "../approvals/change-requests.js";
import { FeatureFlagController } from "../controller.js";
import { applyImport } from "../import/apply.js";
import { importFlagd } from "../import/flagd.js";
import { importLaunchDarkly } from "../import/launchdarkly.js";
import type { ImportResult } from "../import/result.js";
import { importUnleash } from "../import/unleash.js";
import type { CliStores } from "./backend.js";
import { consoleTarget } from "./console-client.js";
import { runConsoleCommand } from "./console-commands.js";

export const USAGE = `ops-flags <command> [options]

  list                                   flags of the environment
  get <key>                              a flag's config and tenant overrides
  set <key> <json-value> --reason R      set the value (--tenant T: that tenant's override)
  override <key> <json-value> --tenant T --reason R
  kill <key> --reason R [--emergency]    kill switch off (--emergency: past approval, audited)
  enable <key> --reason R                kill switch on
  schedule <key> --at ISO --patch JSON --reason R
  diff <envA> <envB>                     what differs between two environments
  export                                 every record of the environment as JSON
  import <file> --from ops|unleash|launchdarkly|flagd --reason R [--source-env E] [--dry-run]
                                         [--flagd-hash js: ids were bucketed by @openfeature/flagd-core]
  propose <key> <change-json> --reason R a change request (environments with approval)
  requests                               pending change requests
  approve <id> [--note N] | reject <id> --note N

Options: --env E (default $OPS_ENV or prod), --actor A (default $OPS_ACTOR or cli:<user>),
--json (machine output). Store: DATABASE_URL [OPS_PG_SCHEMA] or REDIS_URL [OPS_REDIS_PREFIX]. Approval: OPS_APPROVAL_ENVS=prod,...
Console: --console-url URL (or $OPS_CONSOLE_URL) with the bearer token in $OPS_CONSOLE_TOKEN talks to a running
@ops/console instead (list, get, set, override, kill, enable, schedule; the token's principal is the actor and
the console's environment applies).`;

interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2);
}

function parseValue(text: string | undefined, what: string): JsonValue {
  if (text === undefined) throw new UsageError(`${what}: expected a JSON value (true, 42, "text", {...})`);
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    // A bare word is a string: `set banner hello`.
    return text;
  }
}

/** Runs one CLI command. Returns the exit code: 0 ok, 1 refused or failed, 2 bad usage. */
export async function runCli(argv: readonly string[], io: Io, open: (env: NodeJS.ProcessEnv) => Promise<CliStores>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        env: { type: "string" },
        actor: { type: "string" },
        reason: { type: "string" },
        tenant: { type: "string" },
        json: { type: "boolean" },
        emergency: { type: "boolean" },
        at: { type: "string" },
        patch: { type: "string" },
        from: { type: "string" },
        "source-env": { type: "string" },
        "dry-run": { type: "boolean" },
        note: { type: "string" },
        "console-url": { type: "string" },
        "flagd-hash": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    io.err(`ops-flags: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const {
    values: o,
    positionals: [cmd, ...args],
  } = parsed;
  if (o.help || !cmd) {
    io.out(USAGE);
    return cmd || o.help ? 0 : 2;
  }
  const env = o.env ?? io.env.OPS_ENV ?? "prod";
  const actor = o.actor ?? io.env.OPS_ACTOR ?? `cli:${userInfo().username}`;
  const approvalEnvs = new Set(
    (io.env.OPS_APPROVAL_ENVS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const reason = () => {
    if (!o.reason) throw new UsageError(`${cmd}: --reason is required for a change`);
    return o.reason;
  };
  const arg = (i: number, what: string) => {
    const v = args[i];
    if (v === undefined) throw new UsageError(`${cmd}: expected ${what}`);
    return v;
  };
  let stores: CliStores | null = null;
  const controllers: FeatureFlagController[] = [];
  const controller = async (e: string) => {
    stores ??= await open(io.env);
    const c = new FeatureFlagController(stores.flags, e, {
      pollIntervalMs: 0,
      usageFlushMs: 0,
      requireApproval: approvalEnvs.has(e),
      startTimeoutMs: 10_000,
    });
    controllers.push(c);
    await c.ready();
    if (!c.isLoaded) throw new OpsError("UNAVAILABLE", `[ops/flags] could not load flags of ${e} from the store`);
    return c;
  };
  const requests = async (c: FeatureFlagController) => {
    if (!stores?.changeRequests) throw new OpsError("UNSUPPORTED", "[ops/flags] this store has no change requests");
    return new FlagChangeRequests({ controller: c, store: stores.changeRequests });
  };
  const show = (human: string, data: unknown) => io.out(o.json ? json(data) : human);
  const consoleUrl = o["console-url"] ?? io.env.OPS_CONSOLE_URL;
  try {
    if (consoleUrl) {
      if (o.env !== undefined || o.actor !== undefined)
        throw new UsageError(
          "--env and --actor do not apply with --console-url: the console serves one environment as the token's principal",
        );
      return await runConsoleCommand(consoleTarget(consoleUrl, io.env), cmd, {
        arg,
        value: (i, what) => parseValue(args[i], what),
        reason,
        usage: (message) => {
          throw new UsageError(message);
        },
        show,
        err: io.err,
        tenant: o.tenant,
        emergency: o.emergency === true,
        at: o.at,
        patch: o.patch,
      });
    }
    switch (cmd) {
      case "list": {
        const c = await controller(env);
        const rows = c.keys().map((k) => {
          const f = c.getFlag(k);
          return {
            key: k,
            type: f?.config.type ?? null,
            enabled: f?.config.enabled ?? null,
            value: f?.config.value ?? null,
            version: f?.version ?? null,
            updatedBy: f?.updatedBy ?? null,
          };
        });
        show(
          rows
            .map(
              (r) =>
                `${r.key.padEnd(32)} ${String(r.type).padEnd(8)} ${r.enabled === false ? "OFF" : "on "} v${r.version ?? "-"}  ${JSON.stringify(r.value)}`,
            )
            .join("\n") || "(no flags)",
          rows,
        );
        return 0;
      }
      case "get": {
        const key = arg(0, "a flag key");
        const c = await controller(env);
        const f = c.getFlag(key);
        const overrides = (await stores!.flags.snapshot({ env }))
          .filter((r) => r.key === key && r.tenantId !== null)
          .map((r) => ({ tenantId: r.tenantId, value: (r.config as { value?: JsonValue }).value ?? null, version: r.version }));
        if (!f && overrides.length === 0) {
          io.err(`ops-flags: flag "${key}" does not exist in ${env}`);
          return 1;
        }
        show(
          `${key} (${env}) v${f?.version ?? "-"} by ${f?.updatedBy ?? "-"} at ${f?.updatedAt ?? "-"}\n${json(f?.config ?? null)}\noverrides: ${overrides.length === 0 ? "none" : overrides.map((x) => `${x.tenantId}=${JSON.stringify(x.value)}`).join(", ")}`,
          { key, env, flag: f, overrides },
        );
        return 0;
      }
      case "set":
      case "override": {
        const key = arg(0, "a flag key");
        const value = parseValue(args[1], `${cmd} ${key}`);
        if (cmd === "override" && !o.tenant) throw new UsageError("override: --tenant is required");
        const c = await controller(env);
        const rec = await c.setFlag({ key, newValue: value, tenantId: o.tenant ?? null, actorUserId: actor, reason: reason() });
        show(`${key}${o.tenant ? ` for tenant ${o.tenant}` : ""} = ${JSON.stringify(value)} in ${env} (v${rec.version})`, {
          key,
          env,
          tenantId: o.tenant ?? null,
          value,
          version: rec.version,
        });
        return 0;
      }
      case "kill":
      case "enable": {
        const key = arg(0, "a flag key");
        const c = await controller(env);
        const why = reason();
        const rec =
          cmd === "kill" && o.emergency
            ? await (await requests(c)).emergencyDisable({ key, actorUserId: actor, reason: why })
            : await c.setEnabled({ key, enabled: cmd === "enable", actorUserId: actor, reason: why });
        show(`${key} ${cmd === "kill" ? "killed (serving its off value)" : "enabled"} in ${env} (v${rec.version})`, {
          key,
          env,
          enabled: cmd === "enable",
          version: rec.version,
        });
        return 0;
      }
      case "schedule": {
        const key = arg(0, "a flag key");
        if (!o.at || !o.patch) throw new UsageError("schedule: --at and --patch are required");
        const c = await controller(env);
        const id = await c.scheduleChange({ key, at: o.at, patch: JSON.parse(o.patch), actorUserId: actor, reason: reason() });
        show(`scheduled ${id} for ${key} at ${o.at}`, { id, key, at: o.at });
        return 0;
      }
      case "diff": {
        const [a, b] = [arg(0, "two environments"), arg(1, "two environments")];
        stores ??= await open(io.env);
        const index = (rs: FlagRecord[]) =>
          new Map(
            rs.filter((r) => !r.key.startsWith("$stats")).map((r) => [`${r.key}${r.tenantId === null ? "" : `@${r.tenantId}`}`, r.config]),
          );
        const [ra, rb] = [index(await stores.flags.snapshot({ env: a })), index(await stores.flags.snapshot({ env: b }))];
        const diffs: { key: string; change: "only-in-a" | "only-in-b" | "differs"; a?: JsonValue; b?: JsonValue }[] = [];
        for (const k of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
          const x = ra.get(k);
          const y = rb.get(k);
          if (x === undefined) diffs.push({ key: k, change: "only-in-b", b: y! });
          else if (y === undefined) diffs.push({ key: k, change: "only-in-a", a: x });
          else if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push({ key: k, change: "differs", a: x, b: y });
        }
        show(
          diffs.length === 0
            ? `${a} and ${b} are the same`
            : diffs
                .map(
                  (d) => `${d.change === "only-in-a" ? `- ${a} only` : d.change === "only-in-b" ? `+ ${b} only` : "~ differs"}  ${d.key}`,
                )
                .join("\n"),
          { a, b, diffs },
        );
        return 0;
      }
      case "export": {
        stores ??= await open(io.env);
        const records = (await stores.flags.snapshot({ env }))
          .filter((r) => r.key !== "$stats")
          .sort((x, y) => (x.key + (x.tenantId ?? "") < y.key + (y.tenantId ?? "") ? -1 : 1));
        io.out(
          json({ format: "ops-flags/v1", env, records: records.map((r) => ({ key: r.key, tenantId: r.tenantId, config: r.config })) }),
        );
        return 0;
      }
      case "import": {
        const file = arg(0, "a file");
        const data: unknown = JSON.parse(await readFile(file, "utf8"));
        const from = o.from ?? "ops";
        const c = await controller(env);
        if (from === "ops") {
          const records = (data as { records?: { key: string; tenantId: string | null; config: JsonValue }[] }).records ?? [];
          const why = reason();
          let n = 0;
          for (const r of records) {
            if (o["dry-run"]) continue;
            const current = await stores!.flags.get({ env, key: r.key, tenantId: r.tenantId });
            if (JSON.stringify(current?.config) === JSON.stringify(r.config)) continue;
            if (r.tenantId !== null)
              await c.setFlag({
                key: r.key,
                newValue: (r.config as { value: JsonValue }).value,
                tenantId: r.tenantId,
                actorUserId: actor,
                reason: why,
              });
            else if (r.key.startsWith("$segment:"))
              await c.defineSegment({ name: r.key.slice(9), segment: r.config as never, actorUserId: actor, reason: why });
            else {
              const cfg = r.config as { value: JsonValue; type: string };
              if (!c.getFlag(r.key)) await c.setFlag({ key: r.key, newValue: cfg.value, actorUserId: actor, reason: why });
              const { type: _t, schedule: _s, ...patch } = r.config as Record<string, JsonValue>;
              await c.updateFlag({ key: r.key, patch: patch as never, actorUserId: actor, reason: why });
            }
            n++;
          }
          show(`${o["dry-run"] ? "would import" : "imported"} ${o["dry-run"] ? records.length : n} record(s) into ${env}`, {
            env,
            records: records.length,
            written: n,
          });
          return 0;
        }
        const result: ImportResult =
          from === "unleash"
            ? importUnleash(data, o["source-env"] ? { environment: o["source-env"] } : {})
            : from === "launchdarkly"
              ? importLaunchDarkly(data)
              : from === "flagd"
                ? importFlagd(data, o["flagd-hash"] === "js" ? { hash: "js" } : {})
                : (() => {
                    throw new UsageError(`import: --from must be ops, unleash, launchdarkly or flagd (got ${from})`);
                  })();
        const applied = o["dry-run"] ? { written: [], failed: [] } : await applyImport(c, result, { actorUserId: actor, reason: reason() });
        const report = {
          env,
          source: result.source,
          flags: result.flags.map((f) => f.key),
          written: applied.written,
          failed: applied.failed,
          unmapped: result.unmapped,
        };
        show(
          [
            `${o["dry-run"] ? "would import" : "imported"} ${o["dry-run"] ? result.flags.length : applied.written.length} flag(s) from ${result.source} into ${env}`,
            ...applied.failed.map((f) => `FAILED ${f.key}: ${f.error}`),
            ...(result.unmapped.length ? ["not mapped:", ...result.unmapped.map((u) => `  ${u.flag} ${u.path}: ${u.reason}`)] : []),
          ].join("\n"),
          report,
        );
        return applied.failed.length > 0 ? 1 : 0;
      }
      case "propose": {
        const key = arg(0, "a flag key");
        const change = JSON.parse(arg(1, 'a change as JSON, e.g. \'{"kind":"set","value":true}\''));
        const c = await controller(env);
        const cr = await (await requests(c)).propose({ key, change, actorUserId: actor, reason: reason() });
        show(`change request ${cr.id} for ${key} (${cr.kind}) is pending approval`, cr);
        return 0;
      }
      case "requests": {
        const c = await controller(env);
        const page = await (await requests(c)).list({ statuses: ["pending"], limit: 100 });
        show(
          page.items.map((r) => `${r.id}  ${r.key}  ${r.kind}  by ${r.author}: ${r.reason}`).join("\n") || "(no pending change requests)",
          page.items,
        );
        return 0;
      }
      case "approve":
      case "reject": {
        const id = arg(0, "a change request id");
        const c = await controller(env);
        const cr = await requests(c);
        const done =
          cmd === "approve"
            ? await cr.approve({ id, actorUserId: actor, ...(o.note ? { note: o.note } : {}) })
            : await cr.reject({
                id,
                actorUserId: actor,
                note:
                  o.note ??
                  (() => {
                    throw new UsageError("reject: --note is required");
                  })(),
              });
        show(`change request ${id}: ${done.status}`, done);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ops-flags: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    const code = err instanceof OpsError ? err.code : "ERROR";
    io.err(o.json ? json({ error: { code, message: (err as Error).message } }) : `ops-flags: ${code}: ${(err as Error).message}`);
    return 1;
  } finally {
    for (const c of controllers) await c.close().catch(() => {});
    await (stores as CliStores | null)?.close().catch(() => {});
  }
}
