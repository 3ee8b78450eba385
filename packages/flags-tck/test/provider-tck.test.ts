import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, it } from "vitest";
import { OpenFeature } from "@openfeature/server-sdk";
import type { JsonValue } from "@ops/core";
import { FeatureFlagController, type Rule } from "@ops/flags";
import { requireService } from "@ops/testkit";
import { memoryBackend, postgresBackend, redisBackend, type Backend } from "./backends.js";
import { parseFeature, type Scenario } from "./gherkin.js";
import { World, runStep } from "./steps.js";

/**
 * The OpenFeature provider conformance suite (open-feature/spec,
 * specification/assets/provider-tck; vendored in ./assets, pinned in ./assets/PIN.md) against
 * `OpsFlagsProvider` over memory, PostgreSQL (Drizzle on node-postgres) and Redis. The canonical
 * flags are seeded through the public API (`setFlag` + `updateFlag`). A scenario gated on a
 * capability we do not declare is reported skipped with the reason, never passed.
 */

const ASSETS = fileURLToPath(new URL("./assets/", import.meta.url));

/** Every capability tag the suite knows, with why we withhold it (null: declared). */
const CAPABILITIES: Record<string, string | null> = {
  "@events": null,
  "@lifecycle": null,
  "@stale": null,
  "@configuration-change": null,
  "@object": null,
  "@variants": null,
  "@disabled-flags": null,
  "@unavailable": null,
  "@large-integers": null,
  "@targeting": null,
  "@standard-reasons": null,
  "@numeric-coercion":
    "the JavaScript SDK has one number type and one number accessor (getNumberDetails), so an integer cannot be told from a float: not expressible in this language (Appendix F)",
  "@caching": "reserved by the specification: not declarable",
};

function skipReason(s: Scenario, backend: Backend): string | null {
  for (const tag of s.tags) {
    if (!(tag in CAPABILITIES)) return `${tag} is not a capability this runner knows`;
    const why = backend.lacks[tag] ?? CAPABILITIES[tag];
    if (why) return `${tag} not declared: ${why}`;
  }
  return null;
}

interface FlagdFlag {
  state: "ENABLED" | "DISABLED";
  variants: Record<string, JsonValue>;
  defaultVariant: string;
  targeting?: JsonValue;
}

/** The one targeting shape the canonical set uses: `if [== [var X, literal], variant, null]`. Anything else fails loudly. */
function ruleOf(key: string, targeting: JsonValue): Rule {
  const t = targeting as { if?: [{ "=="?: [{ var?: string }, JsonValue] }, string, null] };
  const [cond, variant, otherwise] = t.if ?? [];
  const eq = cond?.["=="];
  const attr = eq?.[0]?.var;
  const value = eq?.[1];
  if (
    typeof attr !== "string" ||
    typeof variant !== "string" ||
    otherwise !== null ||
    (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
  )
    throw new Error(`canonical flag ${key}: targeting ${JSON.stringify(targeting)} is not a shape this seeder translates`);
  return { id: "targeting", when: [{ attr, op: "eq", value }], segments: [], serve: { variant } };
}

async function seed(writer: FeatureFlagController): Promise<void> {
  const file = JSON.parse(readFileSync(`${ASSETS}flags/canonical-flags.json`, "utf8")) as { flags: Record<string, FlagdFlag> };
  const who = { actorUserId: "tck", reason: "seed the provider TCK's canonical flags" };
  for (const [key, f] of Object.entries(file.flags)) {
    await writer.setFlag({ key, newValue: f.variants[f.defaultVariant] as JsonValue, ...who });
    await writer.updateFlag({
      key,
      patch: {
        variants: f.variants,
        defaultVariant: f.defaultVariant,
        enabled: f.state === "ENABLED",
        ...(f.targeting !== undefined ? { rules: [ruleOf(key, f.targeting)] } : {}),
      },
      ...who,
    });
  }
}

const features = readdirSync(`${ASSETS}gherkin`)
  .filter((f) => f.endsWith(".feature"))
  .sort()
  .map((f) => ({ file: f, scenarios: parseFeature(readFileSync(`${ASSETS}gherkin/${f}`, "utf8"), f) }));

const ENV = "tck";
const backends: { name: string; make: () => Promise<Backend>; service?: "postgres" | "redis" }[] = [
  { name: "memory", make: async () => memoryBackend() },
  { name: "postgres", make: postgresBackend, service: "postgres" },
  { name: "redis", make: redisBackend, service: "redis" },
];

afterAll(() => OpenFeature.close());

let domainSeq = 0;
for (const b of backends) {
  const available = b.service ? await requireService(b.service) : true;
  describe.skipIf(!available)(`provider TCK on ${b.name}`, () => {
    let backend: Backend;
    let writer: FeatureFlagController;
    beforeAll(async () => {
      backend = await b.make();
      writer = new FeatureFlagController(backend.admin, ENV, { pollIntervalMs: 0, usageFlushMs: 0, healthCheckIntervalMs: 0 });
      await writer.ready();
      await seed(writer);
    });
    afterAll(async () => {
      await writer?.close();
      await backend?.close();
    });

    const modify = async (key: string) => {
      const cfg = writer.getFlag(key)?.config;
      const other = Object.keys(cfg?.variants ?? {}).find((v) => v !== cfg?.defaultVariant);
      if (!other) throw new Error(`flag ${key} has no other variant to change to`);
      await writer.updateFlag({ key, patch: { defaultVariant: other }, actorUserId: "tck", reason: "the TCK's configuration change" });
    };

    for (const { file, scenarios } of features)
      describe(file, () => {
        for (const s of scenarios) {
          // Known at collection time only for static reasons; the backend's own gaps are listed in lacks.
          const probe = b.name === "memory" ? memoryBackend() : ({ lacks: {} } as Backend);
          const why = skipReason(s, probe);
          if (why) {
            it.skip(`${s.name} — skipped: ${why}`, () => {});
            continue;
          }
          it(s.name, { timeout: 20_000 }, async () => {
            const w = new World(backend, ENV, `tck-${b.name}-${++domainSeq}`, modify);
            try {
              for (const step of s.steps) await runStep(w, step);
            } finally {
              await w.close();
            }
          });
        }
      });
  });
}
