// Checks of the release rehearsal (.ci/release-rehearsal.sh), run from the throwaway copy of the repo
// against the throwaway registry. Publishable packages are discovered: every non-private
// package.json under packages/* and adapters/*.
//   published <registry>                        prints {"name": ["versions"...]} of every package
//   first-release <registry>                    every package's current version is published, its
//                                               manifest has no "workspace:" range left, its peer on
//                                               @ops/core accepts the published core, and its tarball
//                                               carries LICENSE and README.md
//   only-changed <registry> <before-json> <name> exactly <name> gained a version since <before-json>,
//                                               and every package's latest peer range on @ops/core
//                                               accepts the latest @ops/core
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [cmd, registry, ...rest] = process.argv.slice(2);
if (!cmd || !registry) throw new Error("usage: rehearsal-check.mjs <command> <registry> ...");

function localPackages() {
  const out = [];
  for (const root of ["packages", "adapters"]) {
    if (!existsSync(root)) continue;
    for (const dir of readdirSync(root)) {
      const file = join(root, dir, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      if (!pkg.private) out.push({ dir: join(root, dir), pkg });
    }
  }
  return out.sort((a, b) => a.pkg.name.localeCompare(b.pkg.name));
}

async function packument(name) {
  let res;
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(`${registry}${name.replace("/", "%2f")}`);
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET ${name} from the registry: HTTP ${res.status}`);
  return res.json();
}

async function publishedVersions() {
  const out = {};
  for (const { pkg } of localPackages()) {
    const doc = await packument(pkg.name);
    out[pkg.name] = doc ? Object.keys(doc.versions).sort() : [];
  }
  return out;
}

const parse = (v) => v.split(/[.+-]/).slice(0, 3).map(Number);
const cmp = (a, b) => {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
// The ranges this repo publishes for @ops/core: "^X.Y.Z" (from workspace:^).
function satisfies(version, range) {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  if (!m) throw new Error(`unexpected peer range "${range}" (expected ^X.Y.Z)`);
  const [major] = parse(version);
  if (Number(m[1]) === 0) throw new Error(`peer range "${range}" is a 0.x caret: it would pin one minor`);
  return major === Number(m[1]) && cmp(version, `${m[1]}.${m[2]}.${m[3]}`) >= 0;
}

const problems = [];
const fail = (msg) => problems.push(msg);

async function checkPeers() {
  const core = await packument("@ops/core");
  if (!core) return fail("@ops/core is not published");
  const coreLatest = core["dist-tags"].latest;
  for (const { pkg } of localPackages()) {
    if (pkg.name === "@ops/core") continue;
    const doc = await packument(pkg.name);
    if (!doc) continue;
    const m = doc.versions[doc["dist-tags"].latest];
    const range = m.peerDependencies?.["@ops/core"];
    if (!range) fail(`${pkg.name}@${m.version}: no peer dependency on @ops/core`);
    else if (!satisfies(coreLatest, range))
      fail(`${pkg.name}@${m.version}: peer @ops/core "${range}" does not accept the latest @ops/core ${coreLatest}`);
  }
  return coreLatest;
}

if (cmd === "published") {
  console.log(JSON.stringify(await publishedVersions()));
} else if (cmd === "first-release") {
  const tmp = mkdtempSync(join(tmpdir(), "ops-rehearsal-tgz-"));
  try {
    for (const { pkg } of localPackages()) {
      const doc = await packument(pkg.name);
      const m = doc?.versions?.[pkg.version];
      if (!m) {
        fail(`${pkg.name}@${pkg.version} was not published`);
        continue;
      }
      for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"])
        for (const [dep, range] of Object.entries(m[field] ?? {}))
          if (String(range).startsWith("workspace:")) fail(`${pkg.name}@${pkg.version}: ${field}["${dep}"] is still "${range}"`);
      const res = await fetch(m.dist.tarball);
      if (!res.ok) {
        fail(`${pkg.name}@${pkg.version}: tarball HTTP ${res.status}`);
        continue;
      }
      const file = join(tmp, "p.tgz");
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n");
      for (const f of ["package/LICENSE", "package/README.md"])
        if (!listing.includes(f)) fail(`${pkg.name}@${pkg.version}: the tarball lacks ${f.slice(8)}`);
      console.log(
        `  published ${pkg.name}@${pkg.version}  peer @ops/core ${m.peerDependencies?.["@ops/core"] ?? "-"}  (${listing.filter(Boolean).length} files)`,
      );
    }
    const core = await checkPeers();
    console.log(`  every peer range accepts @ops/core ${core}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else if (cmd === "only-changed") {
  const [beforeJson, expected] = rest;
  const before = JSON.parse(beforeJson);
  const now = await publishedVersions();
  const changed = [];
  for (const [name, versions] of Object.entries(now)) {
    const added = versions.filter((v) => !(before[name] ?? []).includes(v));
    if (added.length) changed.push(`${name}@${added.join(",")}`);
  }
  console.log(`  published in this round: ${changed.join(" ") || "(nothing)"}`);
  if (changed.length !== 1 || !changed[0].startsWith(`${expected}@`))
    fail(`expected exactly one new version, of ${expected}; got: ${changed.join(" ") || "none"}`);
  const core = await checkPeers();
  console.log(`  every package's latest peer range accepts @ops/core ${core}`);
} else {
  throw new Error(`unknown command ${cmd}`);
}

if (problems.length) {
  console.error(problems.map((p) => `  FAIL ${p}`).join("\n"));
  process.exit(1);
}
