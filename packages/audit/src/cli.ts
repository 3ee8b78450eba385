#!/usr/bin/env node
import { createReadStream } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { publicKeyOf, verifyCheckpointLog, type SignedCheckpoint } from "./checkpoint.js";
import { verifyExport, type ExportVerifyResult } from "./verify-export.js";
import { macKeyMap, type MacKey } from "./mac.js";

const USAGE = `usage: ops-audit verify <export.jsonl|export.csv>... [--public-key <ed25519-public.pem>]
                  [--checkpoints <file|directory|url>] [--witness <file|directory|url>]
                  [--tenant <id>] [--from <seq>] [--to <seq>] [--filtered] [--unsigned-trailer] [--all]
                  [--mac-key <keyId>=<key-file>] [--require-mac] [--json]
       ops-audit checkpoints <file|directory|url> --public-key <ed25519-public.pem> [--witness <...>] [--json]

verify       checks @ops/audit exports offline: every entry's hash, every link of the chain, the
             trailer (count, first/last seq, head hash, signature). With --public-key it trusts only
             the key: a signed checkpoint must cover each export, an export must start at seq 1 (or
             --from) and reach the newest checkpoint naming its chain, and --checkpoints (the
             published log, checked as a chain) is where anchors come from. --all: every chain named
             by the newest checkpoint must be among the exports given (a deleted chain is found).
checkpoints  checks a checkpoint log (file sink lines, a directory of objects, or a URL): every
             signature, each checkpoint following the previous one with the next number, and with
             --witness (a later copy) that the newest checkpoints were not dropped.
Exit status: 0 intact, 1 tampered, 2 usage or unreadable input.`;

const VALUE_FLAGS = ["--public-key", "--checkpoints", "--witness", "--tenant", "--from", "--to", "--mac-key"];

/** Reads a checkpoint log: JSON lines from a file or URL, or every *.json / *.jsonl object in a directory (by name). */
export async function readCheckpointLog(source: string): Promise<SignedCheckpoint[]> {
  let texts: string[];
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`checkpoint log URL answered HTTP ${res.status}`);
    texts = [await res.text()];
  } else if ((await stat(source)).isDirectory()) {
    const names = (await readdir(source)).filter((n) => n.endsWith(".json") || n.endsWith(".jsonl")).sort();
    texts = [];
    for (const n of names) texts.push(await readFile(join(source, n), "utf8"));
  } else texts = [await readFile(source, "utf8")];
  const out: SignedCheckpoint[] = [];
  for (const t of texts) {
    const trimmed = t.trim();
    if (trimmed.startsWith("[")) out.push(...(JSON.parse(trimmed) as SignedCheckpoint[]));
    else for (const l of trimmed.split("\n")) if (l.trim() !== "") out.push(JSON.parse(l) as SignedCheckpoint);
  }
  // Kept in the order published (objects by name, which sorts by time): reordering is what the check looks for.
  return out;
}

/** Runs the CLI; returns the exit code. Exported for tests and embedding. */
export async function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const args = [...argv];
  if (args.includes("--help") || args.includes("-h")) {
    out(`${USAGE}\n`);
    return 0;
  }
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_FLAGS.includes(a)) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("--")) {
        err(`${USAGE}\n`);
        return 2;
      }
      flags.set(a, value);
      i++;
    } else if (a.startsWith("--")) flags.set(a, "true");
    else positional.push(a);
  }
  const json = flags.has("--json");
  const keyPath = flags.get("--public-key");
  const command = positional[0];
  const files = positional.slice(1);
  const intFlag = (name: string) => (flags.has(name) ? Number(flags.get(name)) : undefined);
  const badInt = ["--from", "--to"].some((f) => flags.has(f) && !(Number.isSafeInteger(intFlag(f)) && intFlag(f)! >= 1));
  if (
    (command !== "verify" && command !== "checkpoints") ||
    files.length === 0 ||
    badInt ||
    (command === "checkpoints" && (!keyPath || files.length !== 1))
  ) {
    err(`${USAGE}\n`);
    return 2;
  }
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
  let macKeys: MacKey[] | undefined;
  try {
    const spec = flags.get("--mac-key");
    if (spec) {
      const eq = spec.indexOf("=");
      if (eq < 1) throw new Error("expected --mac-key <keyId>=<key-file>");
      macKeys = [{ keyId: spec.slice(0, eq), key: new Uint8Array(await readFile(spec.slice(eq + 1))) }];
      macKeyMap(macKeys);
    }
  } catch (e) {
    err(`ops-audit: cannot use MAC key: ${(e as Error).message}\n`);
    return 2;
  }
  let checkpoints: SignedCheckpoint[] | undefined;
  let witness: SignedCheckpoint[] | undefined;
  try {
    const cpSource = command === "checkpoints" ? files[0]! : flags.get("--checkpoints");
    if (cpSource) checkpoints = await readCheckpointLog(cpSource);
    if (flags.has("--witness")) witness = await readCheckpointLog(flags.get("--witness")!);
  } catch (e) {
    err(`ops-audit: cannot read checkpoints: ${(e as Error).message}\n`);
    return 2;
  }
  if (command === "checkpoints") {
    const res = verifyCheckpointLog(checkpoints!, publicKey!, witness ? { witness } : {});
    if (json) out(`${JSON.stringify(res)}\n`);
    else if (res.ok)
      out(
        `OK: ${res.checked} checkpoint(s), every signature valid, each one following the previous${res.lastSeq !== undefined ? ` (newest is number ${res.lastSeq})` : ""}\n`,
      );
    else
      out(`TAMPERED: ${res.kind ?? "checkpoints"}${res.badIndex !== undefined ? ` at checkpoint ${res.badIndex}` : ""}: ${res.message}\n`);
    return res.ok ? 0 : 1;
  }
  const expect = {
    ...(flags.has("--tenant") ? { tenantId: flags.get("--tenant")! } : {}),
    ...(intFlag("--from") !== undefined ? { fromSeq: intFlag("--from")! } : {}),
    ...(intFlag("--to") !== undefined ? { toSeq: intFlag("--to")! } : {}),
    ...(flags.has("--filtered") ? { filtered: true } : {}),
    ...(flags.has("--unsigned-trailer") ? { unsignedTrailer: true } : {}),
  };
  const results: { file: string; res: ExportVerifyResult }[] = [];
  for (const file of files) {
    try {
      const format = file.toLowerCase().endsWith(".csv") ? "csv" : "jsonl";
      results.push({
        file,
        res: await verifyExport(createReadStream(file), {
          format,
          expect,
          ...(macKeys ? { macKeys } : {}),
          ...(flags.has("--require-mac") ? { requireMac: true } : {}),
          ...(publicKey ? { publicKey } : {}),
          ...(checkpoints ? { checkpoints } : {}),
          ...(witness ? { witness } : {}),
        }),
      });
    } catch (e) {
      err(`ops-audit: ${(e as Error).message}\n`);
      return 2;
    }
  }
  // --all: a chain the newest checkpoint names must be among the exports (deleting a whole chain is tampering too).
  const missing: string[] = [];
  if (flags.has("--all") && checkpoints && checkpoints.length > 0) {
    const present = new Set(results.map((r) => JSON.stringify(r.res.tenantId ?? null)));
    for (const h of checkpoints[checkpoints.length - 1]!.payload.heads)
      if (!present.has(JSON.stringify(h.tenantId))) missing.push(JSON.stringify(h.tenantId));
  }
  if (json)
    out(
      `${JSON.stringify(results.length === 1 && !flags.has("--all") ? results[0]!.res : { results: results.map((r) => ({ file: r.file, ...r.res })), missingChains: missing })}\n`,
    );
  else {
    for (const { file, res } of results) {
      const prefix = results.length > 1 ? `${file}: ` : "";
      if (res.ok) {
        const span = res.firstSeq !== null ? ` (seq ${res.firstSeq}..${res.lastSeq})` : "";
        out(
          `${prefix}OK: ${res.checked} entries verified${span}; ${res.chain ? "chain links checked" : "entry hashes checked (filtered export, links not checkable)"}; ${res.checkpointsVerified} signed checkpoint(s) verified, ${res.anchorsChecked} position(s) matched${res.trailerSigned ? "; signed trailer" : ""}\n`,
        );
        if (!publicKey) out("warning: no --public-key given: a chain rewritten with recomputed hashes cannot be detected\n");
        if (res.macsChecked > 0) out(`${prefix}${res.macsChecked} entry MAC(s) verified\n`);
        if (res.macsUnverifiable > 0)
          out(`warning: ${res.macsUnverifiable} keyed entries not checked: pass --mac-key <keyId>=<key-file>\n`);
      } else
        for (const p of res.problems)
          out(
            `${prefix}TAMPERED: ${p.kind}${p.seq !== undefined ? ` at seq ${p.seq}` : ""}${p.line !== undefined ? ` (line ${p.line})` : ""}${p.id ? ` (entry ${p.id})` : ""}: ${p.message}\n`,
          );
    }
    for (const m of missing)
      out(`TAMPERED: removed: chain ${m} is named by the newest checkpoint but no export of it was given (the whole chain was deleted?)\n`);
  }
  if (results.some((r) => r.res.problem?.kind === "format")) return 2;
  return results.every((r) => r.res.ok) && missing.length === 0 ? 0 : 1;
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
