import type { SignedCheckpoint } from "../checkpoint.js";

/** Where signed checkpoints are published: somewhere the audit database's owner cannot rewrite. */
export interface CheckpointSink {
  /** Shown in errors and stats; never contains a URL or secret. */
  readonly name: string;
  /** Resolves once the checkpoint is stored. @throws UnavailableError when it could not be. */
  write(checkpoint: SignedCheckpoint): Promise<void>;
}
