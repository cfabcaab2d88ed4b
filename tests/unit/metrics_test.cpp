#include <catch2/catch.hpp>
#include <prometheus/counter.h>
#include <string>
#include <thread>
#include <vector>

#include "shared/metrics/labelled_children.hpp"
#include "shared/metrics/process_collector.hpp"
#include "shared/metrics/service_metrics.hpp"
#include "shared/metrics/status_server.hpp"

using namespace chat::metrics;

TEST_CASE("CPU seconds come from /proc/<pid>/stat, counted from after the command name") {
    // utime 250 and stime 150 ticks at 100 per second; the command name has spaces and a ')'.
    const std::string stat =
        "4242 (chat (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 5 0 100 2000000 500 "
        "18446744073709551615\n";
    CHECK(cpu_seconds_from_stat(stat, 100) == Approx(4.0));
    CHECK(cpu_seconds_from_stat("4242 (chat) S 1 2", 100) < 0);  // too few fields
    CHECK(cpu_seconds_from_stat("no parenthesis", 100) < 0);
    CHECK(cpu_seconds_from_stat(stat, 0) < 0);
}

TEST_CASE("resident bytes come from /proc/<pid>/statm in pages") {
    CHECK(resident_bytes_from_statm("5000 300 100 10 0 400 0\n", 4096) == Approx(300.0 * 4096));
    CHECK(resident_bytes_from_statm("5000", 4096) < 0);
    CHECK(resident_bytes_from_statm("5000 x 1", 4096) < 0);
}

TEST_CASE("a service's metrics say which service and version it is, and the process's CPU and memory") {
    service_metrics m("logic");
    auto& family = prometheus::BuildCounter().Name("chat_test_total").Help("a test counter").Register(m.registry());
    family.Add({{"cmd", "MATCH"}}).Increment(3);
    const auto text = m.render();
    CHECK_THAT(text, Catch::Contains("# TYPE chat_build_info gauge"));
    CHECK_THAT(text, Catch::Contains(std::string("chat_build_info{service=\"logic\",version=\"") + build_version() +
                                     "\"} 1"));
    CHECK_THAT(text, Catch::Contains("chat_test_total{cmd=\"MATCH\"} 3"));
    CHECK_THAT(text, Catch::Contains("# TYPE process_cpu_seconds_total counter"));
    CHECK_THAT(text, Catch::Contains("# TYPE process_resident_memory_bytes gauge"));
}

TEST_CASE("the status endpoints: metrics, alive, ready or what is missing") {
    service_metrics m("dispatcher");
    std::string missing;
    const readiness_check ready = [&] { return missing; };

    auto metrics = respond_status("GET", "/metrics", m, ready);
    CHECK(metrics.status == 200);
    CHECK(metrics.content_type == k_text_format);
    CHECK_THAT(metrics.body, Catch::Contains("chat_build_info{service=\"dispatcher\""));
    CHECK(respond_status("GET", "/metrics?x=1", m, ready).status == 200);

    CHECK(respond_status("GET", "/healthz", m, ready).status == 200);
    CHECK(respond_status("GET", "/readyz", m, ready).status == 200);
    missing = "not connected to PostgreSQL";
    const auto not_ready = respond_status("GET", "/readyz", m, ready);
    CHECK(not_ready.status == 503);
    CHECK(not_ready.body == "not connected to PostgreSQL\n");
    CHECK(respond_status("GET", "/healthz", m, ready).status == 200);  // alive all the same

    CHECK(respond_status("GET", "/", m, ready).status == 404);
    CHECK(respond_status("POST", "/metrics", m, ready).status == 405);
}

TEST_CASE("command_counters: each command and code its own series, from many threads, codes past the cache too") {
    service_metrics m("broker");
    auto& family = prometheus::BuildCounter().Name("chat_test_commands_total").Help("t").Register(m.registry());
    chat::metrics::command_counters counters(family, {"MATCH", "DIALOGUE"});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) counters.increment(1, 0);
        });
    for (auto& t : threads) t.join();
    counters.increment(0, 13);
    counters.increment(0, 99);  // beyond the cache: still counted
    counters.increment(0, 99);
    const auto text = m.render();
    CHECK_THAT(text, Catch::Contains("chat_test_commands_total{cmd=\"DIALOGUE\",code=\"0\"} 4000"));
    CHECK_THAT(text, Catch::Contains("chat_test_commands_total{cmd=\"MATCH\",code=\"13\"} 1"));
    CHECK_THAT(text, Catch::Contains("chat_test_commands_total{cmd=\"MATCH\",code=\"99\"} 2"));
    CHECK(chat::metrics::index_of({"a", "b"}, "b", 9) == 1);
    CHECK(chat::metrics::index_of({"a", "b"}, "c", 9) == 9);
}
