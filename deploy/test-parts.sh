#!/usr/bin/env bash
# test-parts.sh: the parts of `./deploy/dev.sh test`, each a function that runs one kind
# of test and leaves a short result in PART_DETAIL; run_part records how each went and
# print_test_summary prints the one summary line. Sourced by dev.sh, whose constants
# (REPO_ROOT, BUILD_DIR, BIN_DIR, RUN_DIR, WEB_DIR, BENCH_FLOOR, SYMBOLIZER, TSAN_SUITES)
# and helpers (info, configure, install_web_deps) it uses.

# What `test` did, part by part, for its summary line: "ctest passed (130 tests, 48s)".
TEST_PARTS=()
TEST_FAILED=()
PART_DETAIL=""

# run_part NAME COMMAND...: runs one part of `test` and records how it went, with what
# the command left in PART_DETAIL and how long it took.
run_part() {
    local name=$1 started=$SECONDS status=0
    shift
    PART_DETAIL=""
    "$@" || status=1
    local detail="${PART_DETAIL:+$PART_DETAIL, }$((SECONDS - started))s"
    if ((status == 0)); then
        TEST_PARTS+=("$name passed ($detail)")
    else
        TEST_PARTS+=("$name FAILED ($detail)")
        TEST_FAILED+=("$name")
    fi
}

# One line: OK or FAILED (which parts), every part, the total time; fails on a failure.
print_test_summary() {
    local started=$1 parts="" part
    for part in "${TEST_PARTS[@]}"; do parts+="${parts:+; }$part"; done
    if ((${#TEST_FAILED[@]} > 0)); then
        echo "TEST SUMMARY: FAILED (${TEST_FAILED[*]}): ${parts}; $((SECONDS - started))s"
        return 1
    fi
    echo "TEST SUMMARY: OK (${parts}); $((SECONDS - started))s"
}

# ctest_detail JUNIT: "130 tests" or "2 of 130 failed", from ctest's JUnit report.
ctest_detail() {
    local tests failures
    tests=$(xmllint --xpath 'string(/testsuite/@tests)' "$1" 2>/dev/null) || tests=""
    failures=$(xmllint --xpath 'string(/testsuite/@failures)' "$1" 2>/dev/null) || failures=""
    if [[ -z $tests ]]; then
        echo "no tests ran"
    elif [[ $failures == 0 ]]; then
        echo "$tests tests"
    else
        echo "$failures of $tests failed"
    fi
}

# ctest_run JUNIT CTEST_ARGS...: ctest -j2 with a JUnit report; sets PART_DETAIL.
ctest_run() {
    local junit=$1 status=0
    shift
    rm -f "$junit"
    ctest --output-on-failure -j2 --output-junit "$junit" "$@" || status=1
    PART_DETAIL=$(ctest_detail "$junit")
    return "$status"
}

# The fault suite (label faults) runs on its own afterwards: it kills processes of its
# own system and wants the machine to itself.
run_cpp_tests() {
    info "C++ tests (ctest)"
    ctest_run "$BUILD_DIR/ctest-junit.xml" --test-dir "$BUILD_DIR" -LE faults
}

# Web client tests: vitest, then the browser tests (web/e2e/run.mjs), which start their
# own system with chat-stack.
run_web_tests() {
    install_web_deps || return 1
    info "web tests (npm test)"
    (cd "$WEB_DIR" && npm test)
}

# chat-faults owns its system (it kills its processes). Logs of the last run stay in
# .run/faults/ (with --cluster: .run/faults-cluster/); its last line is
# "faults: sent N acknowledged N delivered N lost N ...".
run_fault_suite() {
    local name=faults
    [[ ${1:-} == --cluster ]] && name=faults-cluster
    info "fault suite (build/bin/chat-faults $*; logs in .run/$name/)"
    local log=$RUN_DIR/$name.log status=0
    mkdir -p "$RUN_DIR"
    "$BIN_DIR/chat-faults" --work-dir "$RUN_DIR/$name" "$@" | tee "$log" || status=1
    PART_DETAIL=$(grep '^faults:' "$log" | tail -n 1) || true
    PART_DETAIL=${PART_DETAIL#faults: }
    return "$status"
}

# Sanitizer options for the tests and every service they start (children inherit the
# environment). A finding aborts the process; reports go to files in $1 as well as
# failing the test, because a report at a service's shutdown fails no test by itself.
export_sanitizer_options() {
    local reports=$1 common="external_symbolizer_path=$SYMBOLIZER"
    export ASAN_OPTIONS="$common:abort_on_error=1:detect_leaks=1:log_path=$reports/asan"
    # tests/lsan.supp names only libpq's leak after a killed server (see there).
    export LSAN_OPTIONS="suppressions=$REPO_ROOT/tests/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="$common:abort_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
    # tests/tsan.supp names only third-party libraries (see there).
    export TSAN_OPTIONS="$common:halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$REPO_ROOT/tests/tsan.supp:log_path=$reports/tsan"
}

# run_sanitized_tests address|thread: builds what the tests need with the asan or tsan
# preset, then runs them (ASan+UBSan: every C++ test but the fault suite and the
# package's; TSan: the TSAN_SUITES). Sets PART_DETAIL.
run_sanitized_tests() {
    local mode=$1 preset dir targets tests
    local suites="${TSAN_SUITES[*]}"
    case $mode in
        # The package tests (label package) check packaging, not code: the dev build's.
        address) preset=asan targets=(chat_tests) tests=(-LE 'faults|package') ;;
        thread) preset=tsan targets=(chat-stack "${TSAN_SUITES[@]/#/e2e_}") tests=(-R "^e2e[.](${suites// /|})[.]") ;;
    esac
    dir=$REPO_ROOT/build-$preset
    configure "$preset" || { PART_DETAIL="configuring failed" && return 1; }
    info "building build-$preset/ (${targets[*]})"
    cmake --build "$dir" --target "${targets[@]}" || { PART_DETAIL="build failed" && return 1; }
    local reports=$dir/sanitizer-reports status=0 file count
    rm -rf "$reports"
    mkdir -p "$reports"
    info "C++ tests under the $mode sanitizer (ctest ${tests[*]})"
    (
        export_sanitizer_options "$reports"
        ctest_run "$dir/ctest-junit.xml" --test-dir "$dir" "${tests[@]}"
    ) || status=1
    PART_DETAIL=$(ctest_detail "$dir/ctest-junit.xml")
    count=$(find "$reports" -type f | wc -l)
    if ((count == 0)); then
        PART_DETAIL+=", no sanitizer reports"
    else
        for file in "$reports"/*; do
            printf -- '--- sanitizer report %s\n' "${file#"$REPO_ROOT"/}" >&2
            head -n 80 "$file" >&2
        done
        PART_DETAIL+=", $count sanitizer reports in ${reports#"$REPO_ROOT"/}"
        status=1
    fi
    return "$status"
}

sanitizer_part() { if [[ $1 == address ]]; then echo "ASan+UBSan"; else echo "TSan"; fi; }


# fuzz_part SECONDS: configures (preset fuzz) and builds the libFuzzer targets, then runs
# each for SECONDS (both at once, one per core) over its committed seeds and what earlier
# runs found. A crash, leak, sanitizer report or slow input fails it; the input is then in
# build-fuzz/tests/fuzz/artifacts/. Sets PART_DETAIL.
fuzz_part() {
    local dir=$REPO_ROOT/build-fuzz
    (cd "$REPO_ROOT" && cmake --preset fuzz -DCHAT_FUZZ_SECONDS="$1" >/dev/null) &&
        cmake --build "$dir" || { PART_DETAIL="build failed" && return 1; }
    info "fuzzing each target for $1s"
    # The fuzzers' own sanitizer settings, not those of a sanitized test run.
    local status=0
    env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u TSAN_OPTIONS ASAN_SYMBOLIZER_PATH="$SYMBOLIZER" \
        ctest --test-dir "$dir" --output-on-failure -j2 --output-junit "$dir/ctest-junit.xml" || status=1
    PART_DETAIL="$(ctest_detail "$dir/ctest-junit.xml") of ${1}s"
    ((status == 0)) || PART_DETAIL+="; inputs in build-fuzz/tests/fuzz/artifacts/"
    return "$status"
}


# The speed guard: bench/run.sh --quick measures the ceiling and a short closed-loop run
# in one go; the run's share of the ceiling (from their JSON, with jq) must reach
# BENCH_FLOOR. Sets PART_DETAIL.
run_speed_guard() {
    info "speed guard (bench/run.sh --quick; floor ${BENCH_FLOOR} of the ceiling)"
    local out=$RUN_DIR/bench-quick e2e ceiling
    rm -rf "$out"
    env BIN_DIR="$BIN_DIR" "$REPO_ROOT/bench/run.sh" --quick "$out" || {
        PART_DETAIL="the quick benchmark failed; see ${out#"$REPO_ROOT"/}/"
        return 1
    }
    e2e=$(jq '.window.acked / .duration_s | floor' "$out/raw/quick.json")
    ceiling=$(jq '.ceiling_messages_per_second | floor' "$out/raw/ceiling.json")
    PART_DETAIL="e2e $e2e msg/s = $(jq -n "$e2e / $ceiling * 100 | floor / 100") of ceiling $ceiling msg/s; floor $BENCH_FLOOR"
    jq -en --argjson e "$e2e" --argjson c "$ceiling" --argjson f "$BENCH_FLOOR" '$e >= $f * $c' >/dev/null
}
