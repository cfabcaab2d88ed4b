#!/usr/bin/env bash
# retention.sh: what purging a million old messages costs chat (issue 13, part 6;
# docs/operations.md, "Retention"). On a private system from chat-stack (bench/stack.sh,
# as bench/run.sh), with the shipped retention settings but a round every 2 s:
#
#   1. stores MESSAGES old messages (PER_SESSION per conversation) in conversations that
#      ended 6 days ago: not yet due (retention.messages is 7 days);
#   2. starts chat-bench at RATE msg/s from CLIENTS clients for DURATION s (open loop,
#      --ack-log: every DIALOGUE's send time and ack latency), and polls logic's
#      chat_retention_deleted_total{kind="messages"} every half second;
#   3. EXPIRE_AT s after chat-bench started, moves the old conversations' end a day back:
#      logic's next round purges them, in its batches, while the chat goes on;
#   4. splits the acknowledged DIALOGUEs by when they were sent: before the purge (after
#      the warm-up), during it (first to last sample that saw the counter move), after it.
#
#   bench/retention.sh OUT_DIR
#
# The last line printed is
#   retention: purged <n> messages in <s> s at <rate> msg/s of chat; ack p99 <ms> before, <ms> during, <ms> after (p50 ...)
# Environment: MESSAGES (1000000), PER_SESSION (100), RATE (1000), CLIENTS (1000),
# DURATION (240), WARMUP (30), EXPIRE_AT (75), BIN_DIR, and bench/stack.sh's knobs (SETTINGS adds
# --set values, e.g. "logic:retention.pause=0ms logic:retention.batch=5000").
set -euo pipefail

BENCH_TOOLS="chat-bench chat-stack"
# shellcheck source=bench/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
readonly MESSAGES=${MESSAGES:-1000000} PER_SESSION=${PER_SESSION:-100}
readonly RATE=${RATE:-1000} CLIENTS=${CLIENTS:-1000} DURATION=${DURATION:-240} EXPIRE_AT=${EXPIRE_AT:-75}
# chat-bench's pairing of 1,000 clients keeps PostgreSQL busy for up to half a minute here
# (many MATCHes wait seconds, some past the broker's request timeout: code 2, on main too),
# which stalls the first DIALOGUEs: "before" starts after it.
readonly WARMUP=${WARMUP:-30}

out_dir "bench/retention.sh OUT_DIR" "$@"
build_tools

# logic logs its purge rounds at info.
SETTINGS="logic:retention.interval=2s logic:log.level=info ${SETTINGS:-}" stack_up
LOGIC_METRICS=$(jq -r '[.services[] | select(.kind == "logic")][0].url + "/metrics"' "$STACK.json")
LOGIC_LOG=$(jq -r '[.services[] | select(.kind == "logic")][0].log // empty' "$STACK.json")

sessions=$((MESSAGES / PER_SESSION))
say "storing $MESSAGES old messages in $sessions conversations that ended 6 days ago"
started=$(date +%s)
"$PSQL" "$PG_URL" -q -v sessions="$sessions" -v per_session="$PER_SESSION" -v accounts=2000 \
    -v ended_ago="'6 days'" -f "$REPO_ROOT/bench/retention_fill.sql" >/dev/null || die "the fill failed"
say "stored in $(($(date +%s) - started)) s"

deleted_messages() {
    curl -sf "$LOGIC_METRICS" | awk '/^chat_retention_deleted_total\{kind="messages"\}/ { printf "%d\n", $2 }'
}
[[ -n $(deleted_messages) ]] || die "logic's $LOGIC_METRICS has no chat_retention_deleted_total"

# The counter, twice a second, with the wall clock (ms) chat-bench's --ack-log uses.
SAMPLES=$OUT/raw/retention-deleted.txt
: >"$SAMPLES"
(
    while :; do
        echo "$(date +%s%3N) $(deleted_messages)" >>"$SAMPLES"
        sleep 0.5
    done
) &
POLLER=$!

say "chat-bench: $CLIENTS clients, $RATE msg/s for $DURATION s; the purge starts about ${EXPIRE_AT} s in"
"$BIN_DIR/chat-bench" --brokers "$BROKERS" --watch "$WATCH" --connections "$CLIENTS" --rate "$RATE" \
    --warmup "$WARMUP" --duration "$DURATION" --ack-log "$OUT/raw/retention-acks.txt" \
    --json "$OUT/raw/retention.json" >"$OUT/raw/retention.txt" 2>"$OUT/raw/retention.log" &
BENCH=$!
sleep "$EXPIRE_AT"
"$PSQL" "$PG_URL" -qc "UPDATE sessions SET ended_at = ended_at - interval '1 day'
                        WHERE ended_at < now() - interval '5 days'" >/dev/null
status=0
wait "$BENCH" || status=$?
kill "$POLLER"
wait "$POLLER" 2>/dev/null || true
if ((status != 0)); then
    cat "$OUT/raw/retention.txt" >&2
    tail -20 "$OUT/raw/retention.log" >&2
    die "chat-bench failed (see $OUT/raw/retention.*)"
fi
if [[ -n $LOGIC_LOG && -f $LOGIC_LOG ]]; then
    grep -h "retention: deleted" "$LOGIC_LOG" >"$OUT/raw/retention-rounds.txt" || true
fi
stack_down

# The purge: from the last sample before the counter moved to the first one after it
# stopped (so "during" holds the whole purge, a little more rather than less).
read -r purge_from purge_to purged < <(awk '
    NF != 2 { next }  # logic did not answer that time
    !seen++ { first = $2 }
    $2 == first { from = $1 }
    $2 > last_value { to_next = 1; last_value = $2; next }
    to_next { to = $1; to_next = 0 }
    END { print from, to, last_value - first }' "$SAMPLES")
[[ $purged -ge $MESSAGES ]] || die "logic purged $purged of $MESSAGES messages during the run (rounds: $OUT/raw/retention-rounds.txt)"
[[ -n $purge_to ]] || die "the purge had not finished when chat-bench stopped: run longer (DURATION)"

# Percentiles of the ack latencies of DIALOGUEs sent in [from, to) (unix ms): "p50 p99 count".
percentiles() {
    awk -v from="$1" -v to="$2" '$1 >= from && $1 < to { print $2 }' "$OUT/raw/retention-acks.txt" | sort -n |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - 0"; exit }
            i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
            i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
            printf "%.1f %.1f %d\n", v[i50] / 1000, v[i99] / 1000, NR }'
}
first_sent=$(head -1 "$OUT/raw/retention-acks.txt" | cut -d' ' -f1)
measured_from=$((first_sent + WARMUP * 1000))
read -r b50 b99 bn < <(percentiles "$measured_from" "$purge_from")
read -r d50 d99 dn < <(percentiles "$purge_from" "$purge_to")
read -r a50 a99 an < <(percentiles "$purge_to" 99999999999999)
seconds=$(((purge_to - purge_from) / 1000))
{
    echo "purge window: $purge_from .. $purge_to (unix ms), $purged messages"
    echo "before: $bn DIALOGUEs, ack p50 $b50 ms, p99 $b99 ms"
    echo "during: $dn DIALOGUEs, ack p50 $d50 ms, p99 $d99 ms"
    echo "after:  $an DIALOGUEs, ack p50 $a50 ms, p99 $a99 ms"
    cat "$OUT/raw/retention-rounds.txt" 2>/dev/null || true
    grep '^chat-bench:' "$OUT/raw/retention.txt" || true
} | tee "$OUT/report.txt" >&2
echo "retention: purged $purged messages in $seconds s at $RATE msg/s of chat; ack p99 $b99 ms before, $d99 ms during, $a99 ms after (p50 $b50 / $d50 / $a50 ms)" |
    tee -a "$OUT/report.txt"
