import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");

/** A TypeScript child process (tsx, resolving @ops packages from source) speaking JSON lines. */
export class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lines: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  private stderr = "";

  constructor(fixture: string, args: string[]) {
    this.proc = spawn(process.execPath, [tsx, "--conditions=@ops/source", fixture, ...args], { cwd: root, stdio: "pipe" });
    let buf = "";
    this.proc.stdout.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          continue;
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.proc.stderr.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Waits for a line matching `pred` (searching lines from `from`). */
  async waitFor(pred: (l: Record<string, unknown>) => boolean, ms = 60_000, from = 0): Promise<Record<string, unknown>> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null) throw new Error(`child exited (${this.proc.exitCode}): ${this.stderr.slice(-2000)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`child did not answer in time; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}
