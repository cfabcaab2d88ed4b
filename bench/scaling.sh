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
# For each, chat-bench reports every process's CPU over the measured window (with its
# descendants: a postmaster's backends, a pg_autoctl keeper's postgres); this prints CPU
# per message by part into OUT_DIR/scaling.txt (the raw chat-bench JSON beside it).
#
#   bench/scaling.sh OUT_DIR        (RATE=3000 CONNECTIONS=400 DURATION=20 by default)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO_ROOT
BIN_DIR=${BIN_DIR:-$REPO_ROOT/build/bin}
readonly RATE=${RATE:-3000} CONNECTIONS=${CONNECTIONS:-400} DURATION=${DURATION:-20}
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

# run NAME STATE BROKERS: chat-bench at RATE against BROKERS (host:port,...).
run() {
    local name=$1 state=$2 brokers=$3
    say "$name: chat-bench --rate $RATE --connections $CONNECTIONS --brokers $brokers"
    "$BIN_DIR/chat-bench" --brokers "$brokers" --connections "$CONNECTIONS" --rate "$RATE" \
        --duration "$DURATION" --warmup 3 --watch "$(jq -r "$WATCH" "$OUT/$state.json")" \
        --json "$OUT/$name-bench.json" >"$OUT/$name-bench.txt" 2>"$OUT/$name-bench.log" || {
        tail -20 "$OUT/$name-bench.txt" "$OUT/$name-bench.log" >&2
        exit 1
    }
    # Messages whose partners were on different brokers: the sessions of the run still
    # name each side's broker (grace 0 takes them offline, not their broker id).
    "$PSQL" "$(jq -r .admin_url "$OUT/$state.json")" -Atc "
        SELECT count(*) FILTER (WHERE a.broker_id IS DISTINCT FROM b.broker_id), count(*)
          FROM messages m JOIN sessions s ON s.id = m.session_id
          JOIN accounts a ON a.id = s.account_lo JOIN accounts b ON b.id = s.account_hi" \
        >"$OUT/$name-cross.txt"
}

broker_list() { jq -r '[.services[] | select(.kind == "broker") | "127.0.0.1:\(.port)"] | join(",")' "$OUT/$1.json"; }

up one
run one one "$(broker_list one)"
stack_down

up cluster --cluster
run within cluster "$(jq -r '[.services[] | select(.kind == "broker")][0] | "127.0.0.1:\(.port)"' "$OUT/cluster.json")"
stack_down
up cluster --cluster
run across cluster "$(broker_list cluster)"
run nginx cluster "127.0.0.1:$(jq -r .nginx.port "$OUT/cluster.json")"
stack_down
STACK=""

# The table: per run and part (the process name without its number), % of one core and
# µs of CPU per acknowledged message; then the total.
jq -rn --argjson rate "$RATE" '
  def part: sub("-[0-9]+$"; "") | sub("^broker-b[0-9]+$"; "broker") | sub("^pg-(monitor)$"; "pg-monitor") | sub("^pg$"; "postgres") | sub("^nats$"; "nats") | sub("^standby$"; "postgres");
  [inputs] as $runs
  | $runs[] | . as $r
  | ($r.bench.window.acked / $r.bench.duration_s) as $mps
  | [$r.bench.cpu.processes | to_entries[] | {part: (.key | part), pct: .value.percent_of_one_cpu}]
  | group_by(.part) | map({part: .[0].part, pct: (map(.pct) | add)}) as $parts
  | ($parts | map(.pct) | add) as $total
  | "\($r.name): \($mps | floor) msg/s acknowledged, \($r.cross[0]) of \($r.cross[1]) messages between brokers",
    ($parts[] | "  \(.part): \(.pct * 100 | floor / 100)% of a core, \((.pct / 100 / $mps * 1e6) | floor) us/msg"),
    "  total: \($total * 100 | floor / 100)% of a core, \(($total / 100 / $mps * 1e6) | floor) us/msg"
' < <(for name in one within across nginx; do
        jq -n --arg name "$name" --slurpfile bench "$OUT/$name-bench.json" \
            --arg cross "$(tr '|' ' ' <"$OUT/$name-cross.txt")" \
            '{name: $name, bench: $bench[0], cross: ($cross | split(" "))}'
    done) | tee "$OUT/scaling.txt"
