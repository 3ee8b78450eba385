import type { FeatureFlagController } from "../controller.js";
import type { ImportResult } from "./result.js";

/**
 * Writes imported flags through the controller (validated, compare-and-set, audited like any
 * change). Returns the keys written; a flag the controller refuses is reported, never half-written.
 */
export async function applyImport(
  controller: FeatureFlagController,
  result: ImportResult,
  who: { actorUserId: string; reason: string },
): Promise<{ written: string[]; failed: { key: string; error: string }[] }> {
  const written: string[] = [];
  const failed: { key: string; error: string }[] = [];
  for (const f of result.flags) {
    try {
      if (!controller.getFlag(f.key)) await controller.setFlag({ key: f.key, newValue: f.value, ...who });
      await controller.updateFlag({ key: f.key, patch: { value: f.value, ...f.patch }, ...who });
      written.push(f.key);
    } catch (err) {
      failed.push({ key: f.key, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { written, failed };
}
