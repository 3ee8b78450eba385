#!/usr/bin/env node
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { publicKeyOf, verifyCheckpointLog, type SignedCheckpoint } from "./checkpoint.js";
import { verifyExport } from "./verify-export.js";

const USAGE = `usage: ops-audit verify <export.jsonl|export.csv> [--public-key <ed25519-public.pem>] [--json]
       ops-audit checkpoints <checkpoints.jsonl> --public-key <ed25519-public.pem> [--json]

verify       checks an @ops/audit export offline: every entry's hash, every link of the chain,
             the entry count, and, with --public-key, the signed checkpoints embedded in it.
checkpoints  checks a checkpoint log (the file sink's JSON lines): every signature, and that each
             checkpoint follows the previous one.
Exit status: 0 intact, 1 tampered, 2 usage or unreadable input.`;

/** Runs the CLI; returns the exit code. Exported for tests and embedding. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const args = [...argv];
  const json = args.includes("--json");
  const keyAt = args.indexOf("--public-key");
  const keyPath = keyAt >= 0 ? args[keyAt + 1] : undefined;
  const positional = args.filter((a, i) => !a.startsWith("--") && (keyAt < 0 || i !== keyAt + 1));
  if (args.includes("--help") || args.includes("-h")) {
    out(`${USAGE}\n`);
    return 0;
  }
  const command = positional[0];
  if ((command !== "verify" && command !== "checkpoints") || positional.length !== 2 || (keyAt >= 0 && !keyPath) || (command === "checkpoints" && !keyPath)) {
    err(`${USAGE}\n`);
    return 2;
  }
  const file = positional[1]!;
  let publicKey: string | undefined;
  try {
    if (keyPath) {
      publicKey = await readFile(keyPath, "utf8");
      publicKeyOf(publicKey);
    }
  } catch (e) {
    err(`ops-audit: cannot use public key: ${(e as Error).message}\n`);
    return 2;
  }
  if (command === "checkpoints") return checkpointsCommand(file, publicKey!, json, out, err);
  let res;
  try {
    const format = file.toLowerCase().endsWith(".csv") ? "csv" : "jsonl";
    res = await verifyExport(createReadStream(file), { format, ...(publicKey ? { publicKey } : {}) });
  } catch (e) {
    err(`ops-audit: ${(e as Error).message}\n`);
    return 2;
  }
  if (json) out(`${JSON.stringify(res)}\n`);
  else if (res.ok) {
    const span = res.firstSeq !== null ? ` (seq ${res.firstSeq}..${res.lastSeq})` : "";
    out(`OK: ${res.checked} entries verified${span}; ${res.chain ? "chain links checked" : "entry hashes checked (filtered export, links not checkable)"}; ${res.checkpointsVerified} signed checkpoint(s) verified, ${res.anchorsChecked} position(s) matched\n`);
    if (!publicKey) out("warning: no --public-key given: a chain rewritten with recomputed hashes cannot be detected\n");
  } else {
    const p = res.problem!;
    out(`TAMPERED: ${p.kind}${p.seq !== undefined ? ` at seq ${p.seq}` : ""}${p.id ? ` (entry ${p.id})` : ""}: ${p.message}\n`);
  }
  if (res.problem?.kind === "format") return 2;
  return res.ok ? 0 : 1;
}

async function checkpointsCommand(file: string, publicKey: string, json: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let cps: SignedCheckpoint[];
  try {
    cps = (await readFile(file, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as SignedCheckpoint);
  } catch (e) {
    err(`ops-audit: cannot read checkpoints: ${(e as Error).message}\n`);
    return 2;
  }
  const res = verifyCheckpointLog(cps, publicKey);
  if (json) out(`${JSON.stringify(res)}\n`);
  else if (res.ok) out(`OK: ${res.checked} checkpoint(s), every signature valid and each one following the previous\n`);
  else out(`TAMPERED: ${res.message}\n`);
  return res.ok ? 0 : 1;
}

const invokedDirectly = (() => {
  const entry = process.argv[1] ?? "";
  return /(?:^|[\\/])(cli\.(?:ts|js|cjs|mjs)|ops-audit)$/.test(entry);
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`ops-audit: ${(e as Error).message}\n`);
      process.exit(2);
    },
  );
}
