import { statfs } from "node:fs/promises";
import * as z from "zod";
import type { HealthCheck } from "../types.js";
import { BaseCheckOptionsShape, parseCheckOptions, type BaseCheckOptions } from "./common.js";

export interface DiskCheckOptions extends BaseCheckOptions {
  /** A path on the file system to watch. Default: the working directory. */
  path?: string;
  /** Warn below this many free bytes (available to this user). Default: below 10% free. */
  warnBelowBytes?: number;
  /** Fail below this many free bytes. Default: below 5% free. */
  failBelowBytes?: number;
}

const Bytes = z.number().int("expected an integer byte count").nonnegative("expected bytes >= 0");
const OptionsSchema = z.object({
  ...BaseCheckOptionsShape,
  path: z.string().min(1, "expected a non-empty path").optional(),
  warnBelowBytes: Bytes.optional(),
  failBelowBytes: Bytes.optional(),
});

/**
 * Free disk space (`fs.statfs`, blocks available to unprivileged users) in bytes; the share free
 * and the total in `details`.
 * @throws ValidationError on bad options
 */
export function diskCheck(options?: DiskCheckOptions): HealthCheck {
  const opts = parseCheckOptions(OptionsSchema, options, "diskCheck");
  const path = opts.path ?? process.cwd();
  const check: HealthCheck = {
    name: opts.name ?? "disk",
    componentType: "system",
    measurement: "free",
    run: async () => {
      const s = await statfs(path);
      const free = s.bavail * s.bsize;
      const total = s.blocks * s.bsize;
      const warnBelow = opts.warnBelowBytes ?? total * 0.1;
      const failBelow = opts.failBelowBytes ?? total * 0.05;
      const status = free < failBelow ? "fail" : free < warnBelow ? "warn" : "pass";
      const freePercent = total > 0 ? Math.round((free / total) * 10_000) / 100 : 0;
      return {
        status,
        observedValue: free,
        observedUnit: "bytes",
        details: { totalBytes: total, freePercent },
        message: `${formatBytes(free)} free (${freePercent}%)`,
      };
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}
