import { expect } from "vitest";
import {
  OpenFeature,
  ProviderEvents,
  ProviderStatus,
  type Client,
  type EvaluationContext,
  type EvaluationDetails,
  type FlagValue,
  type JsonValue,
} from "@openfeature/server-sdk";
import { FeatureFlagController } from "@ops/flags";
import { OpsFlagsProvider } from "@ops/flags/openfeature";
import type { Backend, Connection } from "./backends.js";
import type { Step } from "./gherkin.js";

/** What one scenario holds while its steps run. */
export class World {
  client: Client | null = null;
  provider: OpsFlagsProvider | null = null;
  controller: FeatureFlagController | null = null;
  connection: Connection | null = null;
  flag: { type: string; key: string; default: FlagValue } | null = null;
  context: EvaluationContext = {};
  details: EvaluationDetails<FlagValue> | null = null;
  thrown: unknown = null;
  remembered: FlagValue | undefined;
  readonly handlers = new Map<string, { calls: unknown[]; since: number }>();

  constructor(
    readonly backend: Backend,
    readonly env: string,
    readonly domain: string,
    /** Makes the change the configuration-change scenario asks for, through the public API. */
    readonly modify: (key: string) => Promise<void>,
  ) {}

  async close(): Promise<void> {
    await this.provider?.onClose();
    await this.controller?.close();
    await this.connection?.close();
  }
}

const CONTROLLER_OPTIONS = {
  pollIntervalMs: 500,
  healthCheckIntervalMs: 200,
  healthCheckTimeoutMs: 500,
  startTimeoutMs: 3000,
  usageFlushMs: 0,
} as const;

function typed(type: string, text: string): FlagValue {
  switch (type) {
    case "Boolean":
      if (text !== "true" && text !== "false") throw new Error(`not a boolean: "${text}"`);
      return text === "true";
    case "Integer": {
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new Error(`not an integer: "${text}"`);
      return n;
    }
    case "Float": {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(`not a number: "${text}"`);
      return n;
    }
    case "String":
      return text;
    case "Object":
      return JSON.parse(text) as JsonValue;
    default:
      throw new Error(`unknown flag type "${type}"`);
  }
}

const EVENTS: Record<string, ProviderEvents> = {
  ready: ProviderEvents.Ready,
  error: ProviderEvents.Error,
  stale: ProviderEvents.Stale,
  change: ProviderEvents.ConfigurationChanged,
};

const STATES: Record<string, ProviderStatus> = {
  ready: ProviderStatus.READY,
  error: ProviderStatus.ERROR,
  stale: ProviderStatus.STALE,
  "not ready": ProviderStatus.NOT_READY,
  fatal: ProviderStatus.FATAL,
};

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startProvider(w: World, connection: Connection, wait: boolean): Promise<void> {
  w.connection = connection;
  w.controller = new FeatureFlagController(connection.store, w.env, CONTROLLER_OPTIONS);
  w.provider = new OpsFlagsProvider(w.controller);
  if (wait) await OpenFeature.setProviderAndWait(w.domain, w.provider);
  else OpenFeature.setProvider(w.domain, w.provider);
  w.client = OpenFeature.getClient(w.domain);
}

function client(w: World): Client {
  if (!w.client) throw new Error("no provider was set up for this scenario");
  return w.client;
}

function details(w: World): EvaluationDetails<FlagValue> {
  if (!w.details) throw new Error("the flag was not evaluated");
  return w.details;
}

type Handler = (w: World, args: string[], table: string[][] | null) => Promise<void> | void;

const STEPS: [RegExp, Handler][] = [
  [/^a stable provider$/, async (w) => startProvider(w, await w.backend.open(), true)],
  [/^a unavailable provider$/, async (w) => startProvider(w, await w.backend.openUnavailable(), false)],
  [
    /^a (Boolean|String|Integer|Float|Object)-flag with key "([^"]*)" and a default value "([^"]*)"$/,
    (w, [type, key, dflt]) => void (w.flag = { type: type!, key: key!, default: typed(type!, dflt!) }),
  ],
  [/^a context containing a targeting key with value "([^"]*)"$/, (w, [key]) => void (w.context = { ...w.context, targetingKey: key! })],
  [
    /^the flag was evaluated with details$/,
    async (w) => {
      const f = w.flag;
      if (!f) throw new Error("no flag was named");
      const c = client(w);
      try {
        w.thrown = null;
        if (f.type === "Boolean") w.details = await c.getBooleanDetails(f.key, f.default as boolean, w.context);
        else if (f.type === "String") w.details = await c.getStringDetails(f.key, f.default as string, w.context);
        else if (f.type === "Integer" || f.type === "Float") w.details = await c.getNumberDetails(f.key, f.default as number, w.context);
        else w.details = await c.getObjectDetails(f.key, f.default as JsonValue, w.context);
      } catch (err) {
        w.thrown = err;
      }
    },
  ],
  [/^the resolved details value should be "([^"]*)"$/, (w, [text]) => expect(details(w).value).toEqual(typed(w.flag!.type, text!))],
  [/^the reason should be "([^"]*)"$/, (w, [reason]) => expect(details(w).reason).toBe(reason)],
  [/^the error-code should be "([^"]*)"$/, (w, [code]) => expect(details(w).errorCode ?? "").toBe(code)],
  [/^the error message should be empty$/, (w) => expect(details(w).errorMessage ?? "").toBe("")],
  [/^no exception should have been thrown$/, (w) => expect(w.thrown).toBeNull()],
  [/^the variant should be "([^"]*)"$/, (w, [variant]) => expect(details(w).variant).toBe(variant)],
  [
    /^the resolved object value should contain$/,
    (w, _args, table) => {
      if (!table || table.length < 2) throw new Error("expected a table of key | type | value");
      const [header, ...rows] = table;
      const col = (name: string) => header!.indexOf(name);
      const value = details(w).value as Record<string, unknown>;
      for (const row of rows) expect(value[row[col("key")]!]).toEqual(typed(row[col("type")]!, row[col("value")]!));
    },
  ],
  [
    /^a (ready|error|stale|change) event handler$/,
    (w, [name]) => {
      const h = { calls: [] as unknown[], since: 0 };
      w.handlers.set(name!, h);
      client(w).addHandler(EVENTS[name!]!, (e) => void h.calls.push(e));
    },
  ],
  [
    /^the (ready|error|stale|change) event handler should have been executed(?: within (\d+)ms)?$/,
    async (w, [name, within]) => {
      const h = w.handlers.get(name!);
      if (!h) throw new Error(`no ${name} event handler`);
      await waitFor(() => h.calls.length > h.since, Number(within ?? 5000), `a ${name} event`);
    },
  ],
  [
    /^a ready event was fired$/,
    async (w) => {
      const h = w.handlers.get("ready");
      if (!h) throw new Error("no ready event handler");
      await waitFor(() => h.calls.length > 0, 5000, "a ready event");
    },
  ],
  [
    /^the client should be in (ready|error|stale|not ready|fatal) state$/,
    async (w, [state]) => {
      // The SDK updates the status as it dispatches the event the previous step waited for.
      await waitFor(() => client(w).providerStatus === STATES[state!], 1000, `status ${state}`).catch(() => {});
      expect(client(w).providerStatus).toBe(STATES[state!]);
    },
  ],
  [
    /^the provider metadata name should not be empty$/,
    (w) => expect(OpenFeature.getProviderMetadata(w.domain).name.length).toBeGreaterThan(0),
  ],
  [/^the resolved value is remembered$/, (w) => void (w.remembered = details(w).value)],
  [/^the flag was modified$/, async (w) => w.modify(w.flag!.key)],
  [
    /^the flag should be part of the event payload$/,
    (w) => {
      const h = w.handlers.get("change");
      const keys = (h?.calls ?? []).flatMap((e) => (e as { flagsChanged?: string[] }).flagsChanged ?? []);
      expect(keys).toContain(w.flag!.key);
    },
  ],
  [/^the resolved details value should have changed$/, (w) => expect(details(w).value).not.toEqual(w.remembered)],
  [
    /^the connection is lost$/,
    async (w) => {
      for (const h of w.handlers.values()) h.since = h.calls.length;
      await w.connection!.lose();
    },
  ],
  [
    /^the connection is restored$/,
    async (w) => {
      for (const h of w.handlers.values()) h.since = h.calls.length;
      await w.connection!.restore();
    },
  ],
];

/** Runs one step; an unknown step fails the scenario (never passes it). */
export async function runStep(w: World, step: Step): Promise<void> {
  for (const [re, fn] of STEPS) {
    const m = step.text.match(re);
    if (m) return fn(w, m.slice(1), step.table);
  }
  throw new Error(`no step definition for "${step.keyword} ${step.text}" (line ${step.line})`);
}
