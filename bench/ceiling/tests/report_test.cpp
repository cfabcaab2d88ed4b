// The arithmetic of the ceiling and the report built from the probes.
#include "bench/ceiling/report.hpp"

#include <catch2/catch.hpp>


using namespace chat::bench::ceiling;

namespace {

std::vector<probe_run> one_run(double store_backend_ns, double ws_ns) {
    probe_run store;
    store.probe = "store";
    store.messages = 1000;
    store.processes = {{"logic", "thread", 2'000'000},
                       {"postgres backend", "pid", store_backend_ns}};
    probe_run ws;
    ws.probe = "websocket";
    ws.messages = 500;
    ws.processes = {{"broker", "threads", ws_ns}};
    return {store, ws};
}

}  // namespace

TEST_CASE("CPU per message and the ceiling") {
    CHECK(us_per_message(2'000'000, 1000) == Approx(2.0));
    CHECK(us_per_message(5, 0) == 0);
    CHECK(ceiling_per_second(2, 50) == Approx(40'000));
    CHECK(ceiling_per_second(2, 0) == 0);
}

TEST_CASE("median") {
    CHECK(median({}) == 0);
    CHECK(median({3, 1, 2}) == 2);
    CHECK(median({4, 1, 3, 2}) == Approx(2.5));
}

TEST_CASE("the summary takes each row's median across runs and sums them") {
    const std::vector<std::vector<probe_run>> runs{one_run(10'000'000, 4'000'000),
                                                   one_run(14'000'000, 3'000'000),
                                                   one_run(12'000'000, 5'000'000)};
    const auto s = summarize(runs, 2);
    REQUIRE(s.rows.size() == 3);
    CHECK(s.rows[0].probe == "store");
    CHECK(s.rows[0].median_us == Approx(2.0));
    CHECK(s.rows[1].process == "postgres backend");
    CHECK(s.rows[1].us_per_run == std::vector<double>{10, 14, 12});
    CHECK(s.rows[1].median_us == Approx(12));
    CHECK(s.rows[2].median_us == Approx(8));  // 8, 6 and 10 us for 500 messages
    CHECK(s.sum_us == Approx(22));
    CHECK(s.run_sums_us == std::vector<double>{20, 22, 24});
    CHECK(s.ceiling == Approx(2e6 / 22));

    const auto table = format_table(s, "header");
    CHECK(table.find("postgres backend") != std::string::npos);
    CHECK(table.find("= store") != std::string::npos);
    CHECK(table.find("ceiling = 2 cores x 1e6 / 22.00 us = 90909 msg/s") != std::string::npos);

    // The keys bench/report.sh reads.
    const auto json = to_json(s, runs, {{"messages", 1000}, {"runs", 3}});
    CHECK(json["ceiling_messages_per_second"].get<double>() == Approx(2e6 / 22));
    CHECK(json["sum_us_per_message"].get<double>() == Approx(22));
    CHECK(json["cores"] == 2);
    CHECK(json["config"]["runs"] == 3);
    CHECK(json["breakdown"][0]["probe"] == "store");
    CHECK(json["breakdown"][0]["process"] == "logic");
    CHECK(json["breakdown"].size() == 3);
    CHECK(json["breakdown"][1]["us_per_message"].get<double>() == Approx(12));
    CHECK(json["runs"].size() == 3);
    CHECK(json["runs"][0][0]["processes"][1]["cpu_ms"].get<double>() == Approx(10));
    CHECK(json["config"]["messages"] == 1000);
}

TEST_CASE("runs that report different processes cannot be summarized") {
    auto second = one_run(1, 1);
    second[0].processes.pop_back();
    CHECK_THROWS(summarize({one_run(1, 1), second}, 2));
}
