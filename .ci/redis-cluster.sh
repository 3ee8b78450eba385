#!/usr/bin/env bash
# A 6-node Redis Cluster (3 masters, 3 replicas) on 127.0.0.1:7101-7106 for the Redis Cluster
# suites. Data and configs live in a temp dir; nodes are stopped by pid.
#   .ci/redis-cluster.sh start   -> prints `export OPS_TEST_REDIS_CLUSTER=...` on its last line
#   .ci/redis-cluster.sh stop
# OPS_REDIS_CLUSTER_DIR overrides where the state lives (default: /tmp/ops-redis-cluster).
set -euo pipefail
PORTS=(7101 7102 7103 7104 7105 7106)
DIR="${OPS_REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/ops-redis-cluster}"
NODES="$(printf '127.0.0.1:%s,' "${PORTS[@]}")"; NODES="${NODES%,}"

stop() {
  for p in "${PORTS[@]}"; do
    local pidfile="$DIR/$p/redis.pid"
    if [ -f "$pidfile" ]; then
      local pid; pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$DIR"
}

start_node() { # port: (re)starts one node from its config (used by tests after killing a master)
  local p="$1"
  redis-server "$DIR/$p/redis.conf"
}

start() {
  command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
  stop
  for p in "${PORTS[@]}"; do
    mkdir -p "$DIR/$p"
    cat > "$DIR/$p/redis.conf" <<CONF
port $p
bind 127.0.0.1
protected-mode no
daemonize yes
dir $DIR/$p
pidfile $DIR/$p/redis.pid
logfile $DIR/$p/redis.log
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
cluster-replica-validity-factor 0
appendonly no
save ""
CONF
    start_node "$p"
  done
  for p in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do [ "$(redis-cli -p "$p" ping 2>/dev/null)" = "PONG" ] && break; sleep 0.1; done
  done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${PORTS[@]}") --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
    || { cat "$DIR/create.log" >&2; exit 1; }
  for _ in $(seq 1 100); do
    ok=1
    for p in "${PORTS[@]}"; do
      redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.2
  done
  [ "$ok" = 1 ] || { echo "Redis Cluster did not reach cluster_state:ok" >&2; exit 1; }
  echo "== Redis Cluster up on $NODES (state in $DIR)" >&2
  echo "export OPS_TEST_REDIS_CLUSTER=$NODES"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  start-node) start_node "$2" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
