#!/usr/bin/env bash
# stack.sh: a private chat system for benchmarks, on loopback and free ports, with the
# broker's rate limits off. Everything lives in DIR; nothing else on the machine is
# touched, and `down` stops only the processes whose pids `up` recorded.
#
#   bench/stack.sh up DIR      start PostgreSQL (own cluster), nats-server, logic,
#                              dispatcher and broker(s); write DIR/env
#   bench/stack.sh down DIR    stop them (and keep DIR, logs included)
#
# DIR/env defines BROKERS (for --brokers), BROKER_PIDS (for --broker-pid) and WATCH
# (for --watch), PG_URL, NATS_URL and NATS_PID (for chat-ceiling), so a run is:
#
#   source DIR/env && build-bench/bin/chat-bench --brokers "$BROKERS" --watch "$WATCH" --rate 1000
#
# SERVICES=0 starts only PostgreSQL and nats-server (for chat-ceiling, which brings its
# own code): DIR/env then has PG_URL, NATS_URL, NATS_PID and POSTGRES_PID.
#
# Environment: BIN_DIR (default build-bench/bin, else build/bin), BROKER_COUNT (1),
# BROKER_THREADS (2), LOGIC_WORKERS (4), DIALOGUE_BATCH_MAX (64), DIALOGUE_TRANSACTIONS (2),
# DISPATCHER_WORKERS (2),
# GRACE (0s), PG_BIN (/usr/lib/postgresql/15/bin), LOG_LEVEL (warn), MIGRATIONS
# (the repository's migrations/), PG_STAT_STATEMENTS (1: load pg_stat_statements, to
# count and time every statement the services run).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO_ROOT
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BROKER_COUNT=${BROKER_COUNT:-1}
BROKER_THREADS=${BROKER_THREADS:-2}
LOGIC_WORKERS=${LOGIC_WORKERS:-4}
DIALOGUE_BATCH_MAX=${DIALOGUE_BATCH_MAX:-64}
DIALOGUE_TRANSACTIONS=${DIALOGUE_TRANSACTIONS:-2}
DISPATCHER_WORKERS=${DISPATCHER_WORKERS:-2}
GRACE=${GRACE:-0s}
LOG_LEVEL=${LOG_LEVEL:-warn}
MIGRATIONS=${MIGRATIONS:-$REPO_ROOT/migrations}
PG_STAT_STATEMENTS=${PG_STAT_STATEMENTS:-0}
SERVICES=${SERVICES:-1}
if [[ -z ${BIN_DIR:-} ]]; then
    BIN_DIR=$REPO_ROOT/build-bench/bin
    [[ -x $BIN_DIR/chat-broker ]] || BIN_DIR=$REPO_ROOT/build/bin
fi

die() {
    printf 'stack.sh: %s\n' "$*" >&2
    exit 1
}

as_postgres() {
    if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port nobody listens on, in 20000-29999 (races are unlikely and fail loudly).
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 10000))
        if ! ss -Htln "sport = :$port" | grep -q .; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

wait_for() {
    local what=$1 tries=$2
    shift 2
    for _ in $(seq 1 "$tries"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "$what did not come up (see the logs in $DIR)"
}

# Starts a service in the background with its stderr in DIR/NAME.log; records its pid.
start() {
    local name=$1
    shift
    (cd "$REPO_ROOT" && exec "$@") >"$DIR/$name.log" 2>&1 &
    echo "$!" >"$DIR/$name.pid"
}

up() {
    [[ $SERVICES == 0 || -x $BIN_DIR/chat-broker ]] || die "no binaries in $BIN_DIR (build them first)"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    [[ ! -e $DIR/env ]] || die "$DIR already holds a stack (stack.sh down $DIR first, or use another DIR)"
    chmod 755 "$DIR"  # PostgreSQL runs as user postgres and must reach DIR/pg

    local pg_port nats_port nats_monitor
    pg_port=$(free_port)
    nats_port=$(free_port)
    nats_monitor=$(free_port)

    # PostgreSQL: its own cluster, tuned like deploy/dev.sh (durable commits).
    mkdir -p "$DIR/pg"
    if ((EUID == 0)); then chown postgres:postgres "$DIR/pg"; fi
    chmod 700 "$DIR/pg"
    as_postgres "$PG_BIN/initdb" -D "$DIR/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$DIR/initdb.log")"
    as_postgres tee -a "$DIR/pg/postgresql.conf" >/dev/null <<'EOF'
max_connections = 200
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
wal_buffers = 16MB
max_wal_size = 2GB
checkpoint_completion_target = 0.9
random_page_cost = 1.1
autovacuum_naptime = 10s
autovacuum_vacuum_scale_factor = 0.05
autovacuum_vacuum_insert_scale_factor = 0.05
EOF
    if [[ $PG_STAT_STATEMENTS == 1 ]]; then
        echo "shared_preload_libraries = 'pg_stat_statements'" | as_postgres tee -a "$DIR/pg/postgresql.conf" >/dev/null
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -w -l "$DIR/pg/postgres.log" \
        -o "-p $pg_port -k $DIR/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
        die "PostgreSQL did not start: $(tail -5 "$DIR/pg/postgres.log")"
    head -1 "$DIR/pg/postmaster.pid" >"$DIR/postgres.pid"
    "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE chat" >/dev/null
    if [[ $PG_STAT_STATEMENTS == 1 ]]; then
        "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d chat -qc "CREATE EXTENSION pg_stat_statements" >/dev/null
    fi

    start nats nats-server -a 127.0.0.1 -p "$nats_port" -m "$nats_monitor"
    wait_for nats-server 100 curl -sf "http://127.0.0.1:$nats_monitor/healthz"

    local pg_url="postgresql://postgres@127.0.0.1:$pg_port/chat" nats_url="nats://127.0.0.1:$nats_port"
    if [[ $SERVICES == 0 ]]; then
        cat >"$DIR/env" <<EOF
PG_URL=$pg_url
NATS_URL=$nats_url
NATS_MONITOR=http://127.0.0.1:$nats_monitor
NATS_PID=$(cat "$DIR/nats.pid")
POSTGRES_PID=$(cat "$DIR/postgres.pid")
EOF
        echo "stack.sh: PostgreSQL and nats-server up in $DIR (no services)"
        cat "$DIR/env"
        return
    fi
    cat >"$DIR/logic.yaml" <<EOF
logic:
  workers: $LOGIC_WORKERS
  dialogue_batch_max: $DIALOGUE_BATCH_MAX
  dialogue_transactions: $DIALOGUE_TRANSACTIONS
presence:
  broker_timeout: 5s
  sweep_interval: 1s
  grace: $GRACE
  token_ttl: 720h
nats:
  url: $nats_url
postgres:
  url: $pg_url
log:
  level: $LOG_LEVEL
EOF
    cat >"$DIR/dispatcher.yaml" <<EOF
dispatcher:
  workers: $DISPATCHER_WORKERS
  batch_max: 500
  sweep_interval: 1s
  rebalance_interval: 1s
nats:
  url: $nats_url
postgres:
  url: $pg_url
log:
  level: $LOG_LEVEL
EOF
    "$BIN_DIR/chat" migrate --config "$DIR/logic.yaml" --migrations "$MIGRATIONS" >"$DIR/migrate.log" 2>&1 ||
        die "migrations failed: $(cat "$DIR/migrate.log")"
    start logic "$BIN_DIR/chat-logic" --config "$DIR/logic.yaml"
    start dispatcher "$BIN_DIR/chat-dispatcher" --config "$DIR/dispatcher.yaml"

    local brokers="" broker_pids="" watch="" i port
    for ((i = 1; i <= BROKER_COUNT; i++)); do
        port=$(free_port)
        cat >"$DIR/broker$i.yaml" <<EOF
broker:
  id: bench$i
  address: 127.0.0.1
  port: $port
  threads: $BROKER_THREADS
  web_root: $REPO_ROOT/web/dist
  request_timeout: 5s
  heartbeat_interval: 1s
limits:
  max_frame_bytes: 65536
  max_queued_frames: 100000
  messages_per_second: 0
  account_messages_per_second: 0
  accounts_per_minute_per_address: 0
  connections_per_minute_per_address: 0
http:
  allowed_origins: []
ping:
  interval: 10s
  max_wait: 30s
nats:
  url: $nats_url
log:
  level: $LOG_LEVEL
EOF
        start "broker$i" "$BIN_DIR/chat-broker" --config "$DIR/broker$i.yaml"
        wait_for "broker $i" 300 curl -sf "http://127.0.0.1:$port/healthz"
        brokers+=${brokers:+,}127.0.0.1:$port
        broker_pids+=${broker_pids:+,}$(cat "$DIR/broker$i.pid")
        watch+=${watch:+,}broker$i=$(cat "$DIR/broker$i.pid")
    done
    watch+=,logic=$(cat "$DIR/logic.pid"),dispatcher=$(cat "$DIR/dispatcher.pid")
    watch+=,nats=$(cat "$DIR/nats.pid"),postgres=$(cat "$DIR/postgres.pid")
    cat >"$DIR/env" <<EOF
BROKERS=$brokers
BROKER_PIDS=$broker_pids
WATCH=$watch
PG_URL=$pg_url
NATS_URL=$nats_url
NATS_PID=$(cat "$DIR/nats.pid")
NATS_MONITOR=http://127.0.0.1:$nats_monitor
BIN_DIR=$BIN_DIR
EOF
    echo "stack.sh: up in $DIR (binaries from $BIN_DIR)"
    cat "$DIR/env"
}

stop_pid_file() {
    local file=$1 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

down() {
    [[ -d $DIR ]] || die "no such directory $DIR"
    local f
    for f in "$DIR"/broker*.pid; do stop_pid_file "$f"; done
    stop_pid_file "$DIR/dispatcher.pid"
    stop_pid_file "$DIR/logic.pid"
    stop_pid_file "$DIR/nats.pid"
    if [[ -f $DIR/postgres.pid ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -m fast stop >/dev/null 2>&1 || true
        rm -f "$DIR/postgres.pid"
    fi
    rm -f "$DIR/env"
    echo "stack.sh: stopped the stack in $DIR"
}

[[ $# -eq 2 ]] || die "usage: stack.sh up|down DIR"
DIR=$2
case $1 in
    up) up ;;
    down) down ;;
    *) die "usage: stack.sh up|down DIR" ;;
esac
