import { memoryStores } from "@ops/adapter-memory";
import { FeatureFlagController } from "@ops/flags";
import { GrowthBookClient } from "@growthbook/growthbook";
const c = new FeatureFlagController(memoryStores().flags, "prod", { pollIntervalMs: 0, healthCheckIntervalMs: 0 });
await c.setFlag({ key: "flag-a", newValue: false, actorUserId: "b", reason: "b" });
await c.setRollout({ key: "flag-a", rollout: { percentage: 30 }, actorUserId: "b", reason: "b" });
const gb = new GrowthBookClient();
await gb.init({ payload: { features: { "flag-a": { defaultValue: false, rules: [{ force: true, coverage: 0.3, hashAttribute: "id" }] } } } as never });
const N = 1_000_000;
function fresh(name: string, f: (i: number) => boolean, base: number) {
  let on = 0; const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) if (f(base + i)) on++;
  const ns = Number(process.hrtime.bigint() - t) / N; console.log(name, ns.toFixed(0), "ns", on); return ns;
}
let base = 0;
for (let r = 0; r < 3; r++) {
  const a = fresh("ops fresh", (i) => c.isEnabled("flag-a", { userId: `user-${i}` }), base); base += N;
  const b = fresh("gb fresh", (i) => gb.isOn("flag-a", { attributes: { id: `user-${i}` } }), base); base += N;
  console.log("ratio", (b / a).toFixed(2));
}
const ids = Array.from({ length: N }, (_, i) => ({ userId: `user-${i}` }));
for (let r = 0; r < 3; r++) fresh("ops prebuilt", (i) => c.isEnabled("flag-a", ids[i]!), 0);
process.exit(0);
