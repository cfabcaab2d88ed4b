#!/usr/bin/env bash
# report.sh: turns the raw JSON of a bench/run.sh run into bench.json (every number,
# histogram buckets left out), report.txt (the table, also printed), latency.png
# (latency percentiles against offered load) and the one-line summary, printed last.
#
#   bench/report.sh OUT_DIR ONLINE_DURING_MATCH
set -euo pipefail

OUT=$1
ONLINE=$2
RAW=$OUT/raw

ms() { jq -r "$2 / 1e6 * 100 | round / 100" "$RAW/$1.json"; }
num() { jq -r "$2" "$RAW/$1.json"; }

# --- bench.json -------------------------------------------------------------------------
{
    echo '{'
    printf '"commit": "%s",\n' "$(git -C "$OUT/.." rev-parse --short HEAD 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf '"date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '"cpus": %s,\n' "$(nproc)"
    printf '"cpu_model": %s,\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' | jq -R .)"
    printf '"match_online": %s,\n' "$ONLINE"
    echo '"runs": {'
    first=1
    for file in "$RAW"/*.json; do
        name=$(basename "$file" .json)
        ((first)) || echo ','
        first=0
        printf '"%s": ' "$name"
        jq 'del(.. | .buckets_lowest_highest_count?)' "$file"
    done
    echo '}}'
} | jq . >"$OUT/bench.json"

# --- the table ----------------------------------------------------------------------------
max=$(num max '.window.acked / .duration_s | floor')
ceiling=$(num ceiling '.ceiling_messages_per_second | floor')
ratio=$(jq -n "$max / $ceiling * 100 | round / 100")
{
    echo "chat benchmark, $(nproc) CPUs ($(jq -r .cpu_model "$OUT/bench.json")), everything on this machine"
    echo
    echo "Ceiling (CPU per message of each part alone, chat-ceiling):"
    jq -r '.breakdown[] | "  \(.probe | . + " " * (10 - length)) \(.process | . + " " * (48 - length)) \(.us_per_message * 100 | round / 100) us/msg"' "$RAW/ceiling.json"
    jq -r '"  sum of the medians of \(.config.runs // 1) runs: \(.sum_us_per_message * 100 | round / 100) us/msg on \(.cores) cores = ceiling \(.ceiling_messages_per_second | floor) msg/s"' "$RAW/ceiling.json"
    echo
    printf '%-34s %10s %9s %9s %9s %9s %9s\n' scenario msg/s "ack p50" "ack p99" "dlv p50" "dlv p99" "dlv max"
    row() {
        local name=$1 label=$2
        printf '%-34s %10s %9s %9s %9s %9s %9s\n' "$label" \
            "$(num "$name" '.window.acked / .duration_s | floor')" \
            "$(ms "$name" .ack_latency_ns.p50)" "$(ms "$name" .ack_latency_ns.p99)" \
            "$(ms "$name" .delivery_latency_ns.p50)" "$(ms "$name" .delivery_latency_ns.p99)" \
            "$(ms "$name" .delivery_latency_ns.max)"
    }
    row steady "steady 1000 msg/s, 1000 clients"
    for file in "$RAW"/load-*.json; do
        name=$(basename "$file" .json)
        row "$name" "open loop $(num "$name" .offered_rate) msg/s (${name#load-} of max)"
    done
    row max "closed loop (maximum), $(num max .clients) x $(num max .window_per_client)"
    echo "(latencies in ms: ack = DIALOGUE sent -> code 0; dlv = sent -> partner's PUSH_DIALOGUE)"
    echo
    echo "maximum: $max msg/s = $ratio of the ceiling ($ceiling msg/s)"
    echo "CPU at the maximum (% of one CPU): $(jq -r '[.cpu.processes | to_entries[] | "\(.key) \(.value.percent_of_one_cpu | round)"] | join(", ")' "$RAW/max.json"), chat-bench $(num max '.cpu.self_percent | round')"
    echo "idle: $(num idle '.broker_kib_per_connection * 10 | round / 10') KiB of broker memory per idle logged-in connection at $(num idle .connections) connections"
    echo "MATCH: $(num match '.per_second.matched | round')/s paired with $ONLINE accounts online, $(num match .waiting_at_start) of them waiting, $(num match .matchers) MATCHes in flight, each from the next person ($(num match .interest_matchers) of them with interests, $(num match .window.matched_on_interests) pairings on a shared interest); MATCH p50 $(ms match .latency_ns.p50) ms, p99 $(ms match .latency_ns.p99) ms"
    echo "Next loop: $(num match-next '.per_second.matched | round') pairings/s and $(num match-next '.per_second.left | round') LEAVE/s, $(num match-next .matchers) clients each MATCH, LEAVE, MATCH...; MATCH p50 $(ms match-next .latency_ns.p50) ms, p99 $(ms match-next .latency_ns.p99) ms"
} | tee "$OUT/report.txt"

# --- latency.png ----------------------------------------------------------------------------
{
    for file in "$RAW"/steady.json "$RAW"/load-*.json; do
        jq -r '[.offered_rate, .ack_latency_ns.p50, .ack_latency_ns.p99, .delivery_latency_ns.p50, .delivery_latency_ns.p99] | map(tostring) | join(" ")' "$file"
    done
} | sort -n | awk '{ printf "%s %.3f %.3f %.3f %.3f\n", $1, $2 / 1e6, $3 / 1e6, $4 / 1e6, $5 / 1e6 }' >"$OUT/latency.dat"
gnuplot <<EOF
set terminal pngcairo size 900,540 font "sans,10"
set output "$OUT/latency.png"
set title "Latency against offered load ($(nproc) CPUs, everything co-located; maximum $max msg/s)"
set xlabel "offered load (msg/s)"
set ylabel "latency (ms)"
set logscale y
set grid
set key top left
plot "$OUT/latency.dat" using 1:2 with linespoints title "ack p50", \
     "" using 1:3 with linespoints title "ack p99", \
     "" using 1:4 with linespoints title "delivery p50", \
     "" using 1:5 with linespoints title "delivery p99"
EOF

echo "bench: e2e $max msg/s = $ratio of ceiling; ack p99 $(ms steady .ack_latency_ns.p99) ms; delivery p99 $(ms steady .delivery_latency_ns.p99) ms at 1000 msg/s; $(num idle '.broker_kib_per_connection * 10 | round / 10') KiB per idle connection; match $(num match '.per_second.matched | round')/s; next $(num match-next '.per_second.matched | round')/s"
