// /proc parsing and the split of a PostgreSQL cluster's CPU between two samples.
#include "bench/ceiling/proc_cpu.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "bench/proc_stats.hpp"

using namespace chat::bench;
using namespace chat::bench::ceiling;

TEST_CASE("a /proc/<pid>/stat line gives ppid, own and reaped children's ticks") {
    // The command name may hold spaces and parentheses.
    const auto s = parse_proc_stat(
        "4242 (postgres: walwriter (x)) S 4000 4000 4000 0 -1 4194624 80 0 0 0 17 5 30 12 20 0 1 0 "
        "1234 0 0");
    REQUIRE(s);
    CHECK(s->ppid == 4000);
    CHECK(s->utime == 17);
    CHECK(s->stime == 5);
    CHECK(s->cutime == 30);
    CHECK(s->cstime == 12);
}

TEST_CASE("a malformed /proc/<pid>/stat line is refused") {
    CHECK_FALSE(parse_proc_stat(""));
    CHECK_FALSE(parse_proc_stat("12 (cut short) S 1 2"));
    CHECK_FALSE(parse_proc_stat("12 (x) S 1 1 1 0 -1 0 0 0 0 0 notanumber 5 0 0"));
}

TEST_CASE("schedstat gives the nanoseconds on a CPU") {
    CHECK(parse_schedstat("194413171 16293483 543\n") == 194413171u);
    CHECK_FALSE(parse_schedstat(""));
    CHECK_FALSE(parse_schedstat("x 1 2"));
}

TEST_CASE("this process reads its own CPU time") {
    volatile double x = 0;
    const auto before = this_thread_cpu_ns();
    for (int i = 0; i < 2'000'000; ++i) x = x + i * 0.5;
    CHECK(this_thread_cpu_ns() > before);
    CHECK(this_process_cpu_ns() >= this_thread_cpu_ns());
    CHECK(process_cpu_ns(getpid()).value_or(0) > 0);
    CHECK(thread_cpu_ns(this_thread_id()) > 0);
}

TEST_CASE("a cluster's CPU splits into the probe's backends, others' backends and the rest") {
    tree_sample before;
    before.parent_ns = 100;
    before.reaped_ns = 0;
    before.children = {{10, 1000}, {11, 500}, {12, 300}, {13, 50}};
    tree_sample after;
    after.parent_ns = 150;
    after.reaped_ns = 400;  // child 12 exited; 400 ns in all, 300 of them before the window
    after.children = {{10, 3000}, {11, 700}, {13, 80}, {14, 60}};  // 14 started meanwhile
    const auto split = split_tree_cpu(before, after, {10}, {13});
    CHECK(split.probe_ns == 2000);
    CHECK(split.excluded_ns == 30);
    // walwriter 200 + new child 60 + the exited child's last 100 + the postmaster's 50
    CHECK(split.rest_ns == 410);
}

TEST_CASE("a cluster split never goes negative") {
    tree_sample before;
    before.children = {{12, 900}};
    tree_sample after;
    after.reaped_ns = 10;  // ticks are coarse: less than the exited child had already used
    const auto split = split_tree_cpu(before, after, {}, {});
    CHECK(split.rest_ns == 0);
}
