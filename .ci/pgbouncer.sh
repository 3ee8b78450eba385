#!/usr/bin/env bash
# A PgBouncer in transaction mode (pool_mode=transaction: what Supabase's, Neon's and most managed
# poolers do) in front of the local PostgreSQL, for the PostgreSQL suites that must also pass
# through a pooler: no session state survives a statement, prepared statements of one client land
# on other server connections, and LISTEN hears nothing.
#   .ci/pgbouncer.sh start   -> prints `export OPS_TEST_PGBOUNCER_URL=...` on its last line
#   .ci/pgbouncer.sh stop
# Installs pgbouncer with apt-get when missing. Idempotent: `start` stops the instance of its state
# directory first (by the pid in its pidfile, never by name), so several instances on different
# ports and state directories can run side by side. Auth is `trust` for loopback clients (the
# local server trusts loopback too): the superuser and the suites' non-superuser role (ops_test,
# OPS_PGBOUNCER_USER) are in the auth file, every other role is looked up in PostgreSQL itself
# through auth_query, so roles created by tests work as well. The printed URL logs in as
# OPS_PGBOUNCER_USER: the suites run through the pooler as that ordinary role, as they do direct.
# Env: OPS_PGBOUNCER_PORT (default 6432), OPS_PGBOUNCER_DIR (state, default /tmp/ops-pgbouncer),
# OPS_PGBOUNCER_USER (the role of the printed URL, default ops_test),
# OPS_PGBOUNCER_UPSTREAM (host:port of PostgreSQL, default 127.0.0.1:5432),
# OPS_PGBOUNCER_POOL_SIZE (server connections per database/user, default 10: small on purpose, so
# clients really share server connections).
set -euo pipefail
PORT="${OPS_PGBOUNCER_PORT:-6432}"
DIR="${OPS_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/ops-pgbouncer}"
UPSTREAM="${OPS_PGBOUNCER_UPSTREAM:-127.0.0.1:5432}"
UP_HOST="${UPSTREAM%:*}"
UP_PORT="${UPSTREAM##*:}"
POOL_SIZE="${OPS_PGBOUNCER_POOL_SIZE:-10}"
USER_NAME="${OPS_PGBOUNCER_USER:-ops_test}"
case "$USER_NAME" in *[!A-Za-z0-9_]* | "") echo "OPS_PGBOUNCER_USER must be a plain role name" >&2; exit 2 ;; esac

pgbouncer_bin() { command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

install() {
  [ -n "$(pgbouncer_bin)" ] && return 0
  echo "== pgbouncer not found: installing it with apt-get" >&2
  # Do not let the package start its own service (it would take port 6432 with the Debian config).
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && added=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q pgbouncer >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q pgbouncer >&2; }
  [ "$added" = 1 ] && as_root rm -f "$policy"
  [ -n "$(pgbouncer_bin)" ] || { echo "pgbouncer could not be installed" >&2; exit 1; }
}

stop() {
  local pidfile="$DIR/pgbouncer.pid"
  if [ -f "$pidfile" ]; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}

start() {
  install
  stop
  mkdir -p "$DIR"
  # PgBouncer refuses to run as root: it switches to `postgres` (or the invoking user).
  local run_as=""
  if [ "$(id -u)" = 0 ]; then
    run_as="$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)"
    chown "$run_as" "$DIR"
  fi
  # `trust` still wants the user to exist: the superuser and the suites' role are in the auth file
  # (so they log in without depending on auth_query), every other role is looked up in pg_shadow
  # through the superuser (auth_query), so roles created by tests pass too.
  { echo '"postgres" ""'; [ "$USER_NAME" != postgres ] && echo "\"$USER_NAME\" \"\""; true; } > "$DIR/users.txt"
  cat > "$DIR/pgbouncer.ini" <<CONF
[databases]
test = host=$UP_HOST port=$UP_PORT dbname=test
* = host=$UP_HOST port=$UP_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/users.txt
auth_user = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 2000
max_db_connections = 40
ignore_startup_parameters = extra_float_digits
server_reset_query =
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
admin_users = postgres
CONF
  [ -n "$run_as" ] && chown "$run_as" "$DIR"/*
  if [ -n "$run_as" ]; then "$(pgbouncer_bin)" -d -u "$run_as" "$DIR/pgbouncer.ini" >&2
  else "$(pgbouncer_bin)" -d "$DIR/pgbouncer.ini" >&2; fi
  local ok=0
  for _ in $(seq 1 50); do
    if psql "postgres://postgres@127.0.0.1:$PORT/test" -tAc "SELECT 1" 2>/dev/null | grep -q 1; then ok=1; break; fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || { echo "PgBouncer did not answer on 127.0.0.1:$PORT" >&2; cat "$DIR/pgbouncer.log" >&2 || true; exit 1; }
  # The suites' role must get in too (it exists once .ci/run created it).
  local who; who="$(psql "postgres://$USER_NAME@127.0.0.1:$PORT/test" -tAc "SELECT current_user" 2>&1)" \
    || { echo "PgBouncer on 127.0.0.1:$PORT refused $USER_NAME: $who" >&2; exit 1; }
  echo "== PgBouncer (pool_mode=transaction) up on 127.0.0.1:$PORT in front of $UPSTREAM (state in $DIR)" >&2
  echo "export OPS_TEST_PGBOUNCER_URL=postgres://$USER_NAME@127.0.0.1:$PORT/test"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
