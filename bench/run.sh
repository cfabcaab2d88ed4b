#!/usr/bin/env bash
# run.sh: the benchmark suite behind `./deploy/dev.sh bench` (and, with --quick, the
# speed guard of `./deploy/dev.sh test`). Every scenario runs against a private system
# started by chat-stack (deploy/stack), so nothing else on the machine is touched.
#
#   bench/run.sh OUT_DIR            the full suite; the report goes to OUT_DIR
#   bench/run.sh --quick OUT_DIR    ceiling probes + a short closed-loop run only
#
# Scenarios (full): the ceiling probes (chat-ceiling), 1,000 msg/s steady (on a system of
# its own), maximum throughput (closed loop), latency against offered load (open loop at
# fractions of that maximum), 10,000 idle connections (broker memory), MATCH with 100,000
# accounts online. Each chat-bench run verifies what it measured (nothing lost, duplicated or out
# of order) and fails the suite otherwise.
#
# Output in OUT_DIR: one JSON per run (raw/), bench.json (every number, histogram
# buckets left out), latency.png (percentiles against offered load), report.txt (the
# table). The last line printed is
#   bench: e2e <msgs/s> msg/s = <ratio> of ceiling; ack p99 <ms>; delivery p99 <ms> at 1000 msg/s; <KiB> per idle connection; match <n>/s; next <n>/s
# (--quick prints "bench-quick: e2e <msgs/s> msg/s = <ratio> of ceiling <msgs/s>").
#
# Environment: BIN_DIR (the binaries; default build/bin), and the knobs of stack_args
# (bench/stack.sh).
set -euo pipefail

# REPO_ROOT, BIN_DIR, PSQL, the system's knobs, say/die, build_tools, stack_up/stack_down
# and bench, shared with bench/retention.sh.
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

# Scenario sizes.
readonly MAX_CLIENTS=400 MAX_WINDOW=16           # closed loop: 400 clients x 16 in flight
readonly STEADY_CLIENTS=1000 STEADY_RATE=1000    # the latency targets' load
readonly IDLE_CONNECTIONS=10000
readonly MATCH_ONLINE=100000 MATCH_CONNECTED=10000 MATCH_MATCHERS=32
# 2% of everyone online waits in the pool, each with a tag nobody else has (so nobody
# but an interest matcher takes them); 8 of the 32 matchers name waiters' tags.
readonly MATCH_WAITERS=2000 MATCH_INTEREST_MATCHERS=8
readonly SWEEP_FRACTIONS="0.1 0.25 0.5 0.75 0.9"  # of the measured maximum

QUICK=0
if [[ ${1:-} == --quick ]]; then
    QUICK=1
    shift
fi
out_dir "bench/run.sh [--quick] OUT_DIR" "$@"
build_tools

# The ceiling probes on a system of their own (PostgreSQL and nats-server only: they
# bring their own ends), so no idle service's sweeps are counted.
ceiling() {
    local messages=$1 runs=$2
    SERVICES=0 stack_up
    say "ceiling probes: chat-ceiling --messages $messages --runs $runs"
    # In the shape of the closed-loop run it is compared with: 400 clients in 200 sessions,
    # 16 DIALOGUEs in flight each, which the broker sends to logic about 3 per request (2.6
    # measured from nats-server's counters). Batching makes a message cheaper, so this
    # ceiling is higher, and the ratio lower, than one measured a message at a time.
    "$BIN_DIR/chat-ceiling" --pg-url "$PG_URL" --nats-url "$NATS_URL" --nats-pid "$NATS_PID" \
        --messages "$messages" --runs "$runs" --sessions $((MAX_CLIENTS / 2)) --items-per-request 3 \
        --ws-connections "$MAX_CLIENTS" --ws-window "$MAX_WINDOW" \
        --json "$OUT/raw/ceiling.json" >"$OUT/raw/ceiling.txt" 2>"$OUT/raw/ceiling.log" || {
        cat "$OUT/raw/ceiling.txt" "$OUT/raw/ceiling.log" >&2
        die "the ceiling probes failed"
    }
    stack_down
}

# jq over a raw JSON: field PATH of raw/NAME.json.
field() { jq -r "$2" "$OUT/raw/$1.json"; }

if ((QUICK)); then
    ceiling 40000 1
    stack_up
    bench quick --connections "$MAX_CLIENTS" --closed-loop --window "$MAX_WINDOW" --duration 5 --warmup 2
    stack_down
    e2e=$(field quick '.window.acked / .duration_s | floor')
    limit=$(field ceiling '.ceiling_messages_per_second | floor')
    ratio=$(jq -n "$e2e / $limit * 100 | floor / 100")
    echo "bench-quick: e2e $e2e msg/s = $ratio of ceiling $limit msg/s"
    exit 0
fi

# --- 1. ceiling; steady 1,000 msg/s on a system of its own (after the maximum the
# database would still be vacuuming and checkpointing a quarter of a million messages);
# maximum and latency against load (one system) -----------------------------------------
ceiling 200000 3
stack_up
bench steady --connections "$STEADY_CLIENTS" --rate "$STEADY_RATE" --duration 20 --warmup 3
stack_down
stack_up
bench max --connections "$MAX_CLIENTS" --closed-loop --window "$MAX_WINDOW" --duration 15 --warmup 3
max=$(field max '.window.acked / .duration_s | floor')
for fraction in $SWEEP_FRACTIONS; do
    rate=$(jq -n "$max * $fraction | floor")
    bench "load-$fraction" --connections "$MAX_CLIENTS" --rate "$rate" --duration 10 --warmup 2
done
stack_down

# --- 2. idle connections (a fresh broker: reused memory would flatter it) -------------
stack_up
bench idle --idle "$IDLE_CONNECTIONS" --broker-pid "$BROKER_PIDS"
stack_down

# --- 3. MATCH with 100,000 online ------------------------------------------------------
# One process may hold at most 20,000 sockets here (the hard open-file limit), so 10,000
# accounts are connected through the broker and the other 90,000 are stored online on a
# broker id nobody serves (their NewSession pushes go unread). MATCH's work, the seek
# into the online index and the session insert, is the same for both kinds. The
# waiters' interest wait outlasts the run, so they wait until an interest matcher comes.
# Two runs, each on a system of its own: MATCH/s, each MATCH from the next person in
# turn (the figure the target is about), then the "Next" loop (MATCH, LEAVE, MATCH...),
# whose pairings each cost a LEAVE and a PartnerExit too.
match_run() {
    local name=$1 loop=$2
    SETTINGS="logic:matching.interest_wait=1h" stack_up
    say "$name: $((MATCH_ONLINE - MATCH_CONNECTED)) accounts stored online"
    "$PSQL" "$PG_URL" -qc "
        INSERT INTO accounts (nickname, online, broker_id, conn_key, token_expires_at)
        SELECT 'stored' || g, true, 'stored', 'stored/' || g, now() + interval '1 day'
          FROM generate_series(1, $((MATCH_ONLINE - MATCH_CONNECTED))) g;
        ANALYZE accounts;" >/dev/null
    bench "$name" --match-loop "$loop" --match-accounts "$MATCH_CONNECTED" --matchers "$MATCH_MATCHERS" \
        --interest-matchers "$MATCH_INTEREST_MATCHERS" --match-waiters "$MATCH_WAITERS" --duration 10 --warmup 2
    stack_down
}
match_run match people
online=$(($(field match .online) + MATCH_ONLINE - MATCH_CONNECTED))  # during the run
match_run match-next next

# --- report ---------------------------------------------------------------------------
"$REPO_ROOT/bench/report.sh" "$OUT" "$online"
