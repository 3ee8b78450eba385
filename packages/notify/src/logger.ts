/** Structured logger the notifier and worker write to. Fields never include secrets. */
export interface NotifyLogger {
  info(event: string, fields: Record<string, unknown>): void;
  warn(event: string, fields: Record<string, unknown>): void;
  error(event: string, fields: Record<string, unknown>): void;
}

/** JSON lines: warnings and errors to stderr, info dropped unless `verbose`. */
export function jsonLogger(options: { verbose?: boolean; write?: (line: string) => void } = {}): NotifyLogger {
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const emit = (level: string) => (event: string, fields: Record<string, unknown>) =>
    write(JSON.stringify({ level, time: new Date().toISOString(), pkg: "@ops/notify", event, ...fields }));
  return { info: options.verbose ? emit("info") : () => {}, warn: emit("warn"), error: emit("error") };
}
