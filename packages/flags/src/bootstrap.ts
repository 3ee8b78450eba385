import { readFile, rename, writeFile } from "node:fs/promises";
import { ValidationError, type FlagRecord, type JsonValue } from "@ops/core";

/**
 * Reads a bootstrap file: either `{ "key": value, ... }` (plain values), `{ "flags": {...} }`, or
 * an array of stored records (a backup written by `backupFile`).
 * @throws ValidationError when the file is not one of those shapes; fs errors as thrown.
 */
export async function readBootstrapFile(path: string): Promise<Record<string, JsonValue> | FlagRecord[]> {
  const data: unknown = JSON.parse(await readFile(path, "utf8"));
  if (Array.isArray(data)) {
    const ok = data.every((r) => r && typeof r === "object" && typeof r.key === "string" && typeof r.version === "number" && "config" in r);
    if (ok) return data as FlagRecord[];
  } else if (data && typeof data === "object") {
    const obj = data as Record<string, JsonValue>;
    const flags = obj.flags;
    if (flags && typeof flags === "object" && !Array.isArray(flags) && Object.keys(obj).length === 1)
      return flags as Record<string, JsonValue>;
    return obj;
  }
  throw new ValidationError(`[ops/flags] invalid bootstrap file: expected an object of flag values or an array of records`, [
    { path: "bootstrap.file", message: "expected an object of flag values or an array of records" },
  ]);
}

/** Writes the snapshot atomically (temp file + rename) so a crash never leaves half a backup. */
export async function writeBackupFile(path: string, records: readonly FlagRecord[]): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(records), "utf8");
  await rename(tmp, path);
}
