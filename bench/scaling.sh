#!/usr/bin/env bash
# scaling.sh: the measurements behind docs/scaling.md. The same offered load, on fresh
# systems started by chat-stack (durable, tuned PostgreSQL), in four shapes:
#
#   one      one of each service, one nats-server, one PostgreSQL (chat-stack up)
#   within   the cluster (chat-stack up --cluster: TLS and authentication on the bus,
#            3 NATS nodes, pg_auto_failover with a synchronous standby, 2 of each
#            service), every client on broker b1: sender and receiver on one broker
#   across   the cluster, clients alternating b1 and b2: partners are random, so about
#            half the messages go from one broker to the other (measured below)
#   nginx    the cluster, every client through nginx (least_conn over b1 and b2)
#
# Each shape runs twice: at a light fixed load (RATE msg/s, where nothing is saturated
# and batches are small) and at its maximum (closed loop, 400 clients x 16 in flight,
# where the machine is saturated: CPU per message = all the CPU / the messages). For
# each run chat-bench reports every process's CPU over the measured window (with its
# descendants: a postmaster's backends, a pg_autoctl keeper's postgres); this prints CPU
# per message by part into OUT_DIR/scaling.txt (the raw chat-bench JSON beside it), and
# the share of messages whose partners sat on different brokers (a snapshot of the open
# sessions in the middle of the run: the rate is spread evenly over them).
#
#   bench/scaling.sh OUT_DIR        (RATE=1000 CONNECTIONS=400 DURATION=20 by default)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO_ROOT
BIN_DIR=${BIN_DIR:-$REPO_ROOT/build/bin}
readonly RATE=${RATE:-1000} CONNECTIONS=${CONNECTIONS:-400} DURATION=${DURATION:-20}
PSQL=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql

[[ $# -eq 1 ]] || { echo "usage: bench/scaling.sh OUT_DIR" >&2 && exit 2; }
mkdir -p "$1"
OUT=$(cd "$1" && pwd -P)
# As root, PostgreSQL runs as user postgres, who must pass through it.
chmod o+x "$OUT"
say() { printf 'scaling: %s\n' "$*" >&2; }

if [[ -f $(dirname "$BIN_DIR")/CMakeCache.txt ]]; then
    cmake --build "$(dirname "$BIN_DIR")" --target chat-bench chat-stack chat-broker chat-logic chat-dispatcher chat >&2
fi

STACK=""
stack_down() { [[ -z $STACK ]] || "$BIN_DIR/chat-stack" down --dir "$STACK" >/dev/null 2>&1 || true; }
trap stack_down EXIT

# up NAME ARGS...: a fresh system in OUT/NAME; its state in OUT/NAME.json.
up() {
    local name=$1
    shift
    STACK=$OUT/$name
    rm -rf "$STACK"
    say "$name: chat-stack up $*"
    "$BIN_DIR/chat-stack" up --dir "$STACK" --json --tuned --timeout 120 \
        --set log.level=warn --set presence.grace=0s \
        --set limits.messages_per_second=0 --set limits.account_messages_per_second=0 \
        --set limits.accounts_per_minute_per_address=0 --set limits.connections_per_minute_per_address=0 \
        --set 'http.allowed_origins=[]' "$@" >"$OUT/$name.json" 2>"$OUT/$name-up.log" || {
        cat "$OUT/$name-up.log" >&2
        exit 1
    }
}

# Every process chat-bench watches: services, NATS nodes, PostgreSQL (plain or HA), nginx.
readonly WATCH='[(.services[] | "\(.name)=\(.pid)"), (.nats[] | "\(.name)=\(.pid)"),
                 (.postgres[] | "\(.name)=\(.pid)"), (.postgres_ha.members // [] | .[] | "\(.name)=\(.pid)"),
                 (.nginx // empty | "nginx=\(.pid)")] | join(",")'

# run NAME STATE BROKERS LOAD...: chat-bench against BROKERS (host:port,...) with LOAD
# (--rate R or --closed-loop ...).
run() {
    local name=$1 state=$2 brokers=$3
    shift 3
    say "$name: chat-bench --connections $CONNECTIONS $* --brokers $brokers"
    "$BIN_DIR/chat-bench" --brokers "$brokers" --connections "$CONNECTIONS" "$@" \
        --duration "$DURATION" --warmup 3 --watch "$(jq -r "$WATCH" "$OUT/$state.json")" \
        --json "$OUT/$name-bench.json" >"$OUT/$name-bench.txt" 2>"$OUT/$name-bench.log" &
    local bench=$!
    # Mid-run: the open sessions between two online people, and how many of them join
    # two brokers.
    sleep $((3 + DURATION / 2))
    "$PSQL" "$(jq -r .admin_url "$OUT/$state.json")" -Atc "
        SELECT count(*) FILTER (WHERE a.broker_id <> b.broker_id), count(*)
          FROM sessions s JOIN accounts a ON a.id = s.account_lo JOIN accounts b ON b.id = s.account_hi
         WHERE s.ended_at IS NULL AND a.online AND b.online" >"$OUT/$name-cross.txt"
    wait "$bench" || {
        tail -20 "$OUT/$name-bench.txt" "$OUT/$name-bench.log" >&2
        exit 1
    }
}

broker_list() { jq -r '[.services[] | select(.kind == "broker") | "127.0.0.1:\(.port)"] | join(",")' "$OUT/$1.json"; }

readonly MAX=(--closed-loop --window 16)
up one
run one-light one "$(broker_list one)" --rate "$RATE"
run one-max one "$(broker_list one)" "${MAX[@]}"
stack_down

up cluster --cluster
b1=$(jq -r '[.services[] | select(.kind == "broker")][0] | "127.0.0.1:\(.port)"' "$OUT/cluster.json")
run within-light cluster "$b1" --rate "$RATE"
run within-max cluster "$b1" "${MAX[@]}"
run across-light cluster "$(broker_list cluster)" --rate "$RATE"
run across-max cluster "$(broker_list cluster)" "${MAX[@]}"
run nginx-light cluster "127.0.0.1:$(jq -r .nginx.port "$OUT/cluster.json")" --rate "$RATE"
stack_down
STACK=""

# The table: per run and part (the process name without its number), % of one core and
# µs of CPU per acknowledged message; then the total.
jq -rn --argjson rate "$RATE" '
  # logic-1 -> logic, broker-b2 -> broker, pg-1 and standby -> postgres; pg-monitor stays.
  def part: sub("-[0-9]+$"; "") | sub("^broker-b[0-9]+$"; "broker") | sub("^(pg|standby)$"; "postgres");
  [inputs] as $runs
  | $runs[] | . as $r
  | ($r.bench.window.acked / $r.bench.duration_s) as $mps
  | [$r.bench.cpu.processes | to_entries[] | {part: (.key | part), pct: .value.percent_of_one_cpu}]
  | group_by(.part) | map({part: .[0].part, pct: (map(.pct) | add)}) as $parts
  | ($parts | map(.pct) | add) as $total
  | "\($r.name): \($mps | floor) msg/s acknowledged; \($r.cross[0]) of \($r.cross[1]) open sessions between brokers",
    ($parts[] | "  \(.part): \(.pct * 100 | floor / 100)% of a core, \((.pct / 100 / $mps * 1e6) | floor) us/msg"),
    "  total: \($total * 100 | floor / 100)% of a core, \(($total / 100 / $mps * 1e6) | floor) us/msg"
' < <(for name in one-light one-max within-light within-max across-light across-max nginx-light; do
        jq -n --arg name "$name" --slurpfile bench "$OUT/$name-bench.json" \
            --arg cross "$(tr '|' ' ' <"$OUT/$name-cross.txt")" \
            '{name: $name, bench: $bench[0], cross: ($cross | split(" "))}'
    done) | tee "$OUT/scaling.txt"
