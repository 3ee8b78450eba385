#!/usr/bin/env bash
# Release rehearsal: publishes the workspace to a throwaway npm registry (verdaccio on loopback),
# the way a maintainer releases, and then installs the packages the way a user does.
#
#   1. starts verdaccio (pinned) on 127.0.0.1:4899 with its storage in a temp dir;
#   2. copies the repository (tracked and untracked-but-not-ignored files) into the temp dir and
#      works only there: the checkout this script runs from is never changed;
#   3. round 1: `pnpm version-packages` + `pnpm release` with the pending changesets; checks that
#      every publishable package was published, that no published manifest still says
#      `workspace:`, and that every tarball carries LICENSE;
#   4. round 2: a patch changeset to @ops/audit (the one package another package depends on)
#      must publish @ops/audit alone;
#   5. round 3: a minor changeset to @ops/core (every other package's peer) must publish
#      @ops/core alone, and the others' peer ranges must still accept it;
#   6. installs single packages from the registry into fresh folders with npm, with each package
#      README's install line as written, and runs its first TypeScript example
#      (scripts/readme-examples.mjs).
# Usage: .ci/release-rehearsal.sh            (CI: .ci/run calls it after the test command)
# Env:   REHEARSAL_KEEP=1 keeps the temp dir; REHEARSAL_PORT overrides 4899.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PNPM_VERSION="10.34.9"
VERDACCIO_VERSION="6.8.0" # the last verdaccio 6 that supports Node 20
PORT="${REHEARSAL_PORT:-4899}"
REGISTRY="http://127.0.0.1:${PORT}/"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ops-release-rehearsal.XXXXXX")"
VPID=""
T0=$(date +%s)
say() { echo "== rehearsal [$(($(date +%s) - T0))s] $*"; }
pnpm_() { npx -y "pnpm@${PNPM_VERSION}" "$@"; }

cleanup() {
  local code=$?
  if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then kill "$VPID" 2>/dev/null || true; wait "$VPID" 2>/dev/null || true; fi
  if [ "$code" != 0 ] && [ -f "$WORK/verdaccio.log" ]; then echo "-- verdaccio log (tail)"; tail -20 "$WORK/verdaccio.log" || true; fi
  if [ "${REHEARSAL_KEEP:-}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$code"
}
trap cleanup EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
  echo "port ${PORT} is already in use: stop what listens there (or set REHEARSAL_PORT)"; exit 1
fi

# --- 1. the registry (installed into the temp dir so its pid is the server's own) ------------------
say "starting verdaccio ${VERDACCIO_VERSION} on ${REGISTRY}"
mkdir -p "$WORK/verdaccio"
cp "$ROOT/.ci/verdaccio.yaml" "$WORK/verdaccio/config.yaml"
( cd "$WORK/verdaccio" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "verdaccio@${VERDACCIO_VERSION}" >/dev/null )
node "$WORK/verdaccio/node_modules/verdaccio/bin/verdaccio" --config "$WORK/verdaccio/config.yaml" \
  --listen "127.0.0.1:${PORT}" >"$WORK/verdaccio.log" 2>&1 &
VPID=$!

# --- 2. a throwaway copy of the repository -------------------------------------------------------
say "copying the repository to $WORK/repo"
mkdir -p "$WORK/repo"
( cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf - ) | tar -xf - -C "$WORK/repo"
cd "$WORK/repo"
git init -q -b main
git -c user.name=rehearsal -c user.email=rehearsal@localhost add -A
git -c user.name=rehearsal -c user.email=rehearsal@localhost commit -qm "rehearsal snapshot"
pnpm_ install --frozen-lockfile --prefer-offline --reporter=silent
# Only the @ops scope goes to the throwaway registry (any real @ops package on npmjs.org is never
# touched); the token is a placeholder, verdaccio accepts anonymous publishes here.
printf '@ops:registry=%s\n//127.0.0.1:%s/:_authToken=rehearsal-placeholder\n' "$REGISTRY" "$PORT" > .npmrc
for i in $(seq 1 60); do curl -sf "${REGISTRY}-/ping" >/dev/null && break; sleep 1; done
curl -sf "${REGISTRY}-/ping" >/dev/null || { echo "verdaccio did not answer on ${REGISTRY}"; exit 1; }

commit() { git -c user.name=rehearsal -c user.email=rehearsal@localhost add -A && git -c user.name=rehearsal -c user.email=rehearsal@localhost commit -q --allow-empty -m "$1"; }
# Published versions of every publishable package, one "name versions..." line each, from the registry.
published() { node "$ROOT/scripts/rehearsal-check.mjs" published "$REGISTRY"; }

# --- 3. round 1: the pending changesets -----------------------------------------------------------
say "round 1: version-packages + release with the pending changesets"
pnpm_ version-packages
commit "version packages"
pnpm_ release
node "$ROOT/scripts/rehearsal-check.mjs" first-release "$REGISTRY"
commit "after release 1"
BEFORE2="$(published)"

# --- 4. round 2: a patch to one package -----------------------------------------------------------
say "round 2: a patch changeset to @ops/audit"
printf -- '---\n"@ops/audit": patch\n---\n\nRehearsal: a patch to one package.\n' > .changeset/rehearsal-audit-patch.md
pnpm_ version-packages
commit "version packages (audit patch)"
pnpm_ release
commit "after release 2"
node "$ROOT/scripts/rehearsal-check.mjs" only-changed "$REGISTRY" "$BEFORE2" "@ops/audit"
BEFORE3="$(published)"

# --- 5. round 3: a minor to the peer everybody has ------------------------------------------------
say "round 3: a minor changeset to @ops/core"
printf -- '---\n"@ops/core": minor\n---\n\nRehearsal: a minor to the shared peer.\n' > .changeset/rehearsal-core-minor.md
pnpm_ version-packages
commit "version packages (core minor)"
pnpm_ release
commit "after release 3"
node "$ROOT/scripts/rehearsal-check.mjs" only-changed "$REGISTRY" "$BEFORE3" "@ops/core"

# --- 6. what users do: npm install from the registry and run each README's first example -------
say "installing from the registry and running every package README's first example"
node "$ROOT/scripts/readme-examples.mjs" --registry "$REGISTRY" --repo "$WORK/repo" --work "$WORK/users" --tsx "$ROOT/node_modules/.bin/tsx"

say "release rehearsal passed in $(($(date +%s) - T0)) s"
