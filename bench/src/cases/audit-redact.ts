// Redaction cost on hostile strings: µs per KB for 1 KB..1 MB of each adversarial shape (the
// repeated prefixes and separators that made the old regular expressions quadratic). Linear
// scanning shows as a flat µs/KB column; every 1 MB input must stay under 50 ms (the p50 ms column
// is the time for 1 MB). Wall time: on a loaded machine it moves with the load average in the note.
import { loadavg } from "node:os";
import { redactString } from "@ops/audit";
import type { BenchCase, BenchRow } from "../types.js";

const SHAPES: Record<string, string> = {
  "eyJ-": "eyJ-",
  "://+colons": "://:",
  "xoxb-": "xoxb-",
  "a@ (emails on)": "a@",
  "a@b. (emails on)": "a@b.",
  "1 (digits)": "1",
  "1 + space (digits)": "1 ",
  "Bearer ": "Bearer ",
  "Basic + tab": "Basic\t",
  "token ": "token ",
  "base64-ish": "aGVsbG8gd29ybGQ+/=",
  "?a=": "?a=",
  // Every near-miss at once: a scheme without a credential, e-mail and card fragments, a JWT start.
  mixed: "Bearer a@b. 4111 eyJx. ://u: token=",
  // Not a near-miss: a real secret every 13 characters (80,000 masks per MB).
  "dense secrets": "token=abcdef ",
  prose: "the quick brown fox jumps over the lazy dog 12 ",
};

/** Median wall and CPU (user + system, this process) milliseconds of `runs` calls. */
function medianMs(fn: () => void, runs: number): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const mid = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return { wall: mid(wall), cpu: mid(cpu) };
}

/** Rows of µs/KB per size for each shape. Exported for tests and ad-hoc runs. */
export function benchRedactLinear(sizesKb: readonly number[], runs: number): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [name, unit] of Object.entries(SHAPES)) {
    const cells: string[] = [];
    let ms1mb = 0;
    let cpu1mb = 0;
    for (const kb of sizesKb) {
      const s = unit.repeat(Math.ceil((kb * 1024) / unit.length)).slice(0, kb * 1024);
      const opts = { maskEmails: true, maxStringLength: kb * 1024 };
      redactString(s, opts); // warm
      const { wall: ms, cpu } = medianMs(() => redactString(s, opts), runs);
      if (kb === 1024) {
        ms1mb = ms;
        cpu1mb = cpu;
      }
      cells.push(`${kb} KB: ${((ms * 1000) / kb).toFixed(2)} µs/KB`);
    }
    rows.push({
      group: "audit: redactString on hostile strings",
      subject: name,
      p50Ms: ms1mb,
      ...(name === "eyJ-" ? { ours: true } : {}),
      note: `${ms1mb.toFixed(1)} ms per 1 MB (target < 50), CPU ${cpu1mb.toFixed(1)} ms; ${cells.join(", ")}; load average ${loadavg()[0]!.toFixed(1)}`,
    });
  }
  return rows;
}

const auditRedactCase: BenchCase = {
  name: "audit: redaction (linear time)",
  async run({ quick }) {
    return benchRedactLinear(quick ? [1, 64, 1024] : [1, 16, 128, 1024], quick ? 3 : 7);
  },
};

export default auditRedactCase;
