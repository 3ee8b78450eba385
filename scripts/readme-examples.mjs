// Runs every package README's first TypeScript example the way a new user would: in a fresh
// folder, `npm install` exactly as the README's install block says (the @ops scope comes from the
// registry given, everything else from npm), then the example as written.
//
// Usage: node scripts/readme-examples.mjs --registry http://127.0.0.1:4899/ [--repo .] [--work DIR]
//          [--tsx path/to/tsx] [--only @ops/x,@ops/y] [--jobs 3]
//
// What a README provides (markers are HTML comments, invisible on GitHub and npm):
// - the install block: the first ```bash/```sh block with `npm install` lines; every such line in
//   it runs as written (text after `#` is a comment). It must name every package the example
//   imports and @ops/core (the peer every package needs);
// - optional setup blocks, each preceded by `<!-- readme-example: setup -->`, run in order after
//   the install (e.g. Prisma's offline client generation);
// - the example: the first ```ts block. It runs with tsx and must exit 0 within 90 s. Before it,
//   `<!-- readme-example: server GET /path -->` means: it serves HTTP on $PORT; the run passes when
//   GET /path answers 2xx and the process exits by itself within 20 s of SIGTERM;
//   `<!-- readme-example: vitest -->` means: it is a test file, run with `npx vitest run`.
// The example gets DATABASE_URL (PostgreSQL `test` db on 127.0.0.1:5432, in a schema of its own,
// dropped afterwards), REDIS_URL (127.0.0.1:6379) and PORT (a free loopback port).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    registry: { type: "string" },
    repo: { type: "string", default: "." },
    work: { type: "string" },
    tsx: { type: "string" },
    only: { type: "string" },
    jobs: { type: "string", default: "4" },
  },
});
if (!args.registry) throw new Error("--registry is required");
const repo = resolve(args.repo);
const work = resolve(args.work ?? join(repo, ".readme-examples"));
const tsx = resolve(args.tsx ?? join(repo, "node_modules", ".bin", "tsx"));
const registry = args.registry.endsWith("/") ? args.registry : `${args.registry}/`;
const only = args.only ? new Set(args.only.split(",")) : null;
// README examples are a first run on a local server: they get the admin URL (CI exports
// OPS_TEST_PG_ADMIN_URL; the test suites run as the non-superuser OPS_TEST_PG_URL). A README
// example run as an ordinary role would need its role setup first (opsRoleSetupSql).
const PG = process.env.OPS_TEST_PG_ADMIN_URL ?? process.env.OPS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS = process.env.OPS_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Splits a README into fenced blocks, each with its language and the marker comment before it. */
export function readmeBlocks(text) {
  const blocks = [];
  const lines = text.split("\n");
  let marker = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const open = /^```\s*([\w-]*)\s*$/.exec(line);
    if (open) {
      const body = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      blocks.push({ lang: open[1].toLowerCase(), code: `${body.join("\n")}\n`, marker });
      marker = null;
      continue;
    }
    const m = /^<!--\s*readme-example:\s*(.*?)\s*-->\s*$/.exec(line);
    if (m) marker = m[1];
    else if (line.trim() !== "") marker = null;
  }
  return blocks;
}

/** The example, its install commands and setup blocks, or a reason it cannot be run. */
export function readmePlan(text) {
  const blocks = readmeBlocks(text);
  const example = blocks.find((b) => b.lang === "ts" || b.lang === "typescript");
  if (!example) return { error: "has no ```ts block" };
  const shell = (b) => b.lang === "bash" || b.lang === "sh" || b.lang === "shell";
  const installBlock = blocks.find((b) => shell(b) && /^\s*npm install\b/m.test(b.code));
  if (!installBlock) return { error: "has no install block (```bash with `npm install ...`)" };
  const install = installBlock.code
    .split("\n")
    .map((l) => l.replace(/\s#.*$/, "").trim())
    .filter((l) => /^npm install\b/.test(l));
  const installed = new Set(
    install
      .flatMap((l) =>
        l
          .split(/\s+/)
          .slice(2)
          .filter((a) => !a.startsWith("-")),
      )
      .map(pkgName),
  );
  const imported = new Set();
  for (const m of example.code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (!spec || spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:")) continue;
    imported.add(pkgName(spec));
  }
  const missing = [...imported, "@ops/core"].filter((n) => !installed.has(n));
  if (missing.length)
    return { error: `install block does not name ${missing.join(", ")} (the example imports them or needs the @ops/core peer)` };
  const setup = blocks.filter((b) => shell(b) && b.marker === "setup").map((b) => b.code);
  const mode = example.marker ?? "script";
  return { install, setup, code: example.code, mode };
}

function pkgName(spec) {
  const parts = spec.split("/");
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const at = name.indexOf("@", 1); // "pkg@1.2.3" in an install line
  return at > 0 ? name.slice(0, at) : name;
}

function freePort() {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.once("error", ko);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function run(cmd, argv, opts) {
  return new Promise((ok) => {
    // Its own process group, so a timeout or SIGTERM reaches the grandchildren too (tsx runs the
    // example in a child process of its own).
    const child = spawn(cmd, argv, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const signal = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {}
    };
    child.signalGroup = signal;
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[timed out after ${opts.timeoutMs} ms]`;
      signal("SIGKILL");
    }, opts.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      ok({ code: code ?? (signal ? 128 : 1), out, child });
    });
    opts.onSpawn?.(child, () => out);
  });
}

const psql = (sql) => execFileSync("psql", [PG, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], { stdio: "pipe" });

async function runOne({ dir, pkg }) {
  const name = pkg.name;
  const plan = readmePlan(readFileSync(join(dir, "README.md"), "utf8"));
  if (plan.error) return { name, ok: false, log: `README ${plan.error}` };
  const folder = join(work, name.replace("@ops/", ""));
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "package.json"), `${JSON.stringify({ name: "readme-example", private: true, type: "module" }, null, 2)}\n`);
  writeFileSync(join(folder, ".npmrc"), `@ops:registry=${registry}\n`);
  const schema = `readme_${name.replace(/\W/g, "_")}_${randomBytes(3).toString("hex")}`;
  psql(`CREATE SCHEMA ${schema}`);
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: `${PG}${PG.includes("?") ? "&" : "?"}options=-c%20search_path%3D${schema}`,
    REDIS_URL: REDIS,
    PORT: String(port),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "error",
  };
  delete env.NODE_OPTIONS;
  const log = [];
  const t0 = Date.now();
  try {
    for (const cmd of [...plan.install, ...plan.setup]) {
      const r = await run("bash", ["-euo", "pipefail", "-c", cmd], { cwd: folder, env, timeoutMs: 180_000 });
      log.push(`$ ${cmd.trim()}\n${r.out}`);
      if (r.code !== 0) return { name, ok: false, log: log.join("\n") };
    }
    const tInstall = Date.now() - t0;
    let r;
    if (plan.mode === "vitest") {
      writeFileSync(join(folder, "example.test.ts"), plan.code);
      r = await run("npx", ["--no-install", "vitest", "run"], { cwd: folder, env, timeoutMs: 120_000 });
    } else if (plan.mode.startsWith("server")) {
      const [, method = "GET", path = "/"] = plan.mode.split(/\s+/);
      writeFileSync(join(folder, "example.ts"), plan.code);
      let probe = "";
      r = await run(tsx, ["example.ts"], {
        cwd: folder,
        env,
        timeoutMs: 60_000,
        onSpawn: async (child) => {
          for (let i = 0; i < 100; i++) {
            await new Promise((s) => setTimeout(s, 200));
            if (child.exitCode !== null) return;
            try {
              const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
              probe = `${method} ${path} -> ${res.status}`;
              if (res.ok) break;
            } catch {}
          }
          child.signalGroup("SIGTERM");
          setTimeout(() => child.signalGroup("SIGKILL"), 20_000).unref();
        },
      });
      r.out += `\n[probe] ${probe || "no answer"}`;
      if (!/-> 2\d\d$/.test(probe)) r.code = r.code || 1;
      else if (r.code !== 0 && r.code !== 143) r.out += `\n[exit code ${r.code} after SIGTERM]`;
      if (/-> 2\d\d$/.test(probe) && (r.code === 0 || r.code === 143)) r.code = 0;
    } else {
      writeFileSync(join(folder, "example.ts"), plan.code);
      r = await run(tsx, ["example.ts"], { cwd: folder, env, timeoutMs: 90_000 });
    }
    log.push(`$ (example, ${plan.mode})\n${r.out}`);
    return { name, ok: r.code === 0, ms: { install: tInstall, run: Date.now() - t0 - tInstall }, log: log.join("\n") };
  } finally {
    try {
      psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } catch {}
  }
}

const targets = [];
for (const root of ["packages", "adapters"]) {
  if (!existsSync(join(repo, root))) continue;
  for (const d of readdirSync(join(repo, root))) {
    const dir = join(repo, root, d);
    if (!existsSync(join(dir, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (pkg.private || (only && !only.has(pkg.name))) continue;
    targets.push({ dir, pkg });
  }
}
mkdirSync(work, { recursive: true });
const results = [];
const queue = [...targets];
await Promise.all(
  Array.from({ length: Math.max(1, Number(args.jobs)) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const r = await runOne(t).catch((e) => ({ name: t.pkg.name, ok: false, log: String(e?.stack ?? e) }));
      const timing = r.ms ? ` (install ${(r.ms.install / 1000).toFixed(1)} s, run ${(r.ms.run / 1000).toFixed(1)} s)` : "";
      console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name} README example${timing}`);
      if (!r.ok)
        console.log(
          r.log
            .split("\n")
            .slice(-40)
            .map((l) => `       ${l}`)
            .join("\n"),
        );
      results.push(r);
    }
  }),
);
const failed = results.filter((r) => !r.ok);
console.log(`README examples: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length || results.length === 0) process.exit(1);
