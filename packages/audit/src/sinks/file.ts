import { createReadStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { UnavailableError } from "@ops/core";
import type { SignedCheckpoint } from "../checkpoint.js";
import type { CheckpointSink } from "./types.js";

export interface FileCheckpointSink extends CheckpointSink {
  /** Every checkpoint in the file, oldest first (streamed line by line). */
  readAll(): Promise<SignedCheckpoint[]>;
  /** The newest checkpoint, or null when the file is empty or absent. */
  latest(): Promise<SignedCheckpoint | null>;
}

/**
 * Appends each checkpoint as one JSON line to `path` and fsyncs before resolving. Put the file
 * on storage the database's administrators cannot write (another host, a WORM volume).
 */
export function fileCheckpointSink(options: { path: string }): FileCheckpointSink {
  const { path } = options;
  const readAll = async (): Promise<SignedCheckpoint[]> => {
    const out: SignedCheckpoint[] = [];
    try {
      const rl = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
      for await (const line of rl) if (line.trim() !== "") out.push(JSON.parse(line) as SignedCheckpoint);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    return out;
  };
  return {
    name: "file",
    async write(cp) {
      try {
        await mkdir(dirname(path), { recursive: true });
        const fh = await open(path, "a");
        try {
          await fh.write(`${JSON.stringify(cp)}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw new UnavailableError(`[ops/audit] file checkpoint sink could not write: ${(err as Error).message}`, { cause: err });
      }
    },
    readAll,
    async latest() {
      const all = await readAll();
      return all[all.length - 1] ?? null;
    },
  };
}
