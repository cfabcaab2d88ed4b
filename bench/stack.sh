# stack.sh: what bench/run.sh and bench/retention.sh share, sourced first by both: the
# repository and the binaries (BIN_DIR: build/bin), psql, the system's defaults
# (LOGIC_WORKERS 8, LOG_LEVEL warn), say and die, build_tools (the benchmark's programs,
# BENCH_TOOLS: chat-bench chat-ceiling chat-stack), stack_up/stack_down (a private system
# from chat-stack in OUT, the caller's output directory, its state in the variables
# below) and bench (one chat-bench run into OUT/raw/).
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO_ROOT
BIN_DIR=${BIN_DIR:-$REPO_ROOT/build/bin}
export BIN_DIR
# shellcheck disable=SC2034  # the scripts that source this use it
PSQL=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql
# The system under test: logic with enough workers to keep PostgreSQL's group commits
# full, the dispatcher with two drainers (stack_args' other defaults).
export LOGIC_WORKERS=${LOGIC_WORKERS:-8}
export LOG_LEVEL=${LOG_LEVEL:-warn}
BENCH_TOOLS=${BENCH_TOOLS:-chat-bench chat-ceiling chat-stack}
STACK=""  # the running system's directory: $OUT/stack-1, -2, ... (each keeps its logs)
STACKS=0

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

# out_dir USAGE ARGS...: OUT is the one argument left, made with its raw/; else usage, exit 2.
out_dir() {
    local usage=$1
    shift
    [[ $# -eq 1 ]] || {
        echo "usage: $usage" >&2
        exit 2
    }
    mkdir -p "$1/raw"
    OUT=$(cd "$1" && pwd -P)
}

# The benchmark's programs are not in the default build target (building them must not
# slow `./deploy/dev.sh up`): build them, and the services they measure, here. A BIN_DIR
# outside a CMake build directory (no CMakeCache.txt beside it) is taken as it is.
build_tools() {
    local build_dir tool
    build_dir=$(dirname "$BIN_DIR")
    if [[ -f $build_dir/CMakeCache.txt ]]; then
        say "building $BENCH_TOOLS and the services in ${build_dir#"$REPO_ROOT"/}/"
        # shellcheck disable=SC2086  # a list of targets
        cmake --build "$build_dir" --target $BENCH_TOOLS chat-broker chat-logic chat-dispatcher chat >&2 ||
            die "the build failed"
    fi
    for tool in $BENCH_TOOLS chat-broker; do
        [[ -x $BIN_DIR/$tool ]] || die "$BIN_DIR/$tool is missing (build it: cmake --build build --target $tool)"
    done
    command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
}

# The system under test, started by chat-stack (deploy/stack; docs/operations.md) with
# deploy/config's settings, PostgreSQL tuned and durable, and these overrides. The
# knobs (environment): BROKER_COUNT (1), BROKER_THREADS (2), LOGIC_WORKERS (8 here),
# DIALOGUE_BATCH_MAX (64), DIALOGUE_TRANSACTIONS (2), DISPATCHER_WORKERS (2), GRACE (0s),
# LOG_LEVEL (warn), MIGRATIONS (the repository's migrations/), PG_STAT_STATEMENTS (0; 1:
# load pg_stat_statements, to count and time every statement the services run),
# SERVICES (1; 0: PostgreSQL and nats-server only, for chat-ceiling, which brings its
# own ends), and SETTINGS (more `--set` values, space-separated).
stack_args() {
    local args=(--dir "$STACK" --json --tuned --bin-dir "$BIN_DIR" --migrations "${MIGRATIONS:-$REPO_ROOT/migrations}")
    if [[ ${PG_STAT_STATEMENTS:-0} == 1 ]]; then
        args+=(--pg-setting shared_preload_libraries=pg_stat_statements --pg-extension pg_stat_statements)
    fi
    if [[ ${SERVICES:-1} == 0 ]]; then
        args+=(--only 'postgres,nats')
    else
        args+=(--brokers "${BROKER_COUNT:-1}"
            --set "broker.threads=${BROKER_THREADS:-2}"
            --set "logic.workers=$LOGIC_WORKERS"
            --set "logic.dialogue_batch_max=${DIALOGUE_BATCH_MAX:-64}"
            --set "logic.dialogue_transactions=${DIALOGUE_TRANSACTIONS:-2}"
            --set "dispatcher.workers=${DISPATCHER_WORKERS:-2}"
            --set "presence.grace=${GRACE:-0s}"
            --set "log.level=$LOG_LEVEL"
            # The broker's rate limits off: the clients come from one address and send
            # as fast as they can.
            --set limits.messages_per_second=0 --set limits.account_messages_per_second=0
            --set limits.accounts_per_minute_per_address=0
            --set limits.connections_per_minute_per_address=0
            --set 'http.allowed_origins=[]' --set limits.max_queued_frames=100000)
        local setting
        for setting in ${SETTINGS:-}; do args+=(--set "$setting"); done
    fi
    printf '%s\n' "${args[@]}"
}

# The variables the scenarios use, from chat-stack's state JSON: BROKERS (for --brokers),
# BROKER_PIDS (--broker-pid), WATCH (--watch), PG_URL (as superuser: chat-ceiling
# migrates and checkpoints), NATS_URL, NATS_PID, NATS_MONITOR and POSTGRES_PID.
readonly STATE_TO_ENV='
    "PG_URL=\(.admin_url // .database_url)",
    "NATS_URL=\(.nats_url)",
    "NATS_PID=\(.nats[0].pid)",
    "NATS_MONITOR=http://127.0.0.1:\(.nats[0].monitor_port)",
    "POSTGRES_PID=\(.postgres[0].pid)",
    "BROKERS=\(.brokers | join(","))",
    "BROKER_PIDS=\([.services[] | select(.kind == "broker") | .pid] | join(","))",
    "WATCH=\(
        [(.services | map(select(.kind == "broker")) | to_entries[] | "broker\(.key + 1)=\(.value.pid)"),
         (.services[] | select(.kind != "broker") | "\(.kind)=\(.pid)"),
         "nats=\(.nats[0].pid)", "postgres=\(.postgres[0].pid)"] | join(","))"'

stack_up() {
    STACKS=$((STACKS + 1))
    STACK=$OUT/stack-$STACKS
    local args
    mapfile -t args < <(stack_args)
    "$BIN_DIR/chat-stack" up "${args[@]}" >"$STACK.json" 2>"$OUT/stack-$STACKS-up.log" || {
        cat "$OUT/stack-$STACKS-up.log" >&2
        die "the system did not start"
    }
    jq -r "$STATE_TO_ENV" "$STACK.json" >"$STACK/env" || die "cannot read $STACK.json"
    # shellcheck disable=SC1091
    source "$STACK/env"
}

stack_down() {
    [[ -n $STACK && -e $STACK/state.json ]] || return 0
    "$BIN_DIR/chat-stack" down --dir "$STACK" >/dev/null 2>&1 || true
}
trap stack_down EXIT

# chat-bench NAME ARGS...: one run, its JSON in raw/NAME.json, its table in raw/NAME.txt.
bench() {
    local name=$1
    shift
    say "$name: chat-bench $*"
    if ! "$BIN_DIR/chat-bench" --brokers "$BROKERS" --watch "$WATCH" --json "$OUT/raw/$name.json" "$@" \
        >"$OUT/raw/$name.txt" 2>"$OUT/raw/$name.log"; then
        cat "$OUT/raw/$name.txt" >&2
        tail -20 "$OUT/raw/$name.log" >&2
        die "$name failed (see $OUT/raw/$name.*)"
    fi
}
