// chat-ceiling end to end, small: a scratch database on the tests' PostgreSQL
// (tests/support/postgres.hpp; skipped with 77 when there is none), a private
// nats-server; the JSON must be complete and its numbers positive and sane.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "shared/bus/nats_connection.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "deploy/stack/files.hpp"
#include "deploy/stack/nats.hpp"
#include "deploy/stack/process.hpp"
#include "tests/support/postgres.hpp"

using namespace chat;
using json = nlohmann::json;

TEST_CASE("chat-ceiling measures every part of a message and reports the ceiling") {
    stack::temp_dir dir("chat-ceiling-test");
    test::scratch_database db(dir.path(), /*migrate=*/false);  // chat-ceiling migrates it
    stack::nats_server nats(dir.path());
    // A chat system on the same nats-server (here its subscriptions only) must neither
    // answer nor hear the probe.
    std::atomic<int> foreign{0};
    bus::connection live({nats.url(), "live-chat-system"},
                         log::make_service_logger("ceiling-test", "warn"));
    auto count = [&](bus::message&&) { ++foreign; };
    auto live_logic = live.queue_subscribe(std::string(bus::subjects::k_all_commands),
                                           std::string(bus::subjects::k_logic_queue), count);
    auto live_dispatcher = live.subscribe(std::string(bus::subjects::k_dispatch_wake), count);
    auto live_broker = live.subscribe("broker.bench1.push", count);
    live.flush(std::chrono::seconds(5));
    const auto report = dir / "ceiling.json";
    stack::spawn_options options;
    options.log_file = dir / "chat-ceiling.log";
    const int status = stack::run_command(
        {stack::binary("chat-ceiling").string(), "--pg-url", db.url(), "--nats-url",
         nats.url(), "--nats-pid", std::to_string(nats.process().pid()), "--messages", "3000",
         "--warmup", "1000", "--sessions", "50", "--ws-connections", "20", "--cores", "2", "--json",
         report.string()},
        options, std::chrono::seconds(240));
    INFO(stack::read_file(options.log_file));
    REQUIRE(status == 0);
    live.flush(std::chrono::seconds(5));
    CHECK(foreign == 0);

    const auto j = json::parse(stack::read_file(report));
    CHECK(j["config"]["messages"] == 3000);
    CHECK(j["config"]["batch"] == 64);
    CHECK(j["config"]["drain_batch"] == 500);
    CHECK(j["cores"] == 2);

    // Every part, split by process, each in µs of CPU per message.
    const std::map<std::string, std::vector<std::string>> expected{
        {"store",
         {"logic (handle_dialogues, store_dialogues)", "postgres backend",
          "postgres other processes"}},
        {"drain", {"dispatcher (drainer::drain)", "postgres backend", "postgres other processes"}},
        {"nats",
         {"logic (NATS: request in, reply and wake-up out)",
          "dispatcher (NATS: pushes out, wake-ups in)",
          "broker (NATS: request out, reply and pushes in)", "nats-server"}},
        {"websocket", {"broker (Beast I/O threads)"}},
    };
    std::map<std::string, std::vector<std::string>> seen;
    double sum = 0;
    for (const auto& row : j["breakdown"]) {
        const auto probe = row["probe"].get<std::string>();
        const auto process = row["process"].get<std::string>();
        const double us = row["us_per_message"].get<double>();
        seen[probe].push_back(process);
        INFO(probe << " / " << process << ": " << us << " us per message");
        // Background processes may not run at all in a short window; everything else works
        // for every message. Nothing here costs a millisecond of CPU per message.
        if (process == "postgres other processes")
            CHECK(us >= 0);
        else
            CHECK(us > 0);
        CHECK(us < 1000);
        sum += us;
    }
    CHECK(seen == expected);
    CHECK(j["sum_us_per_message"].get<double>() == Approx(sum));
    CHECK(j["ceiling_messages_per_second"].get<double>() == Approx(2e6 / sum));

    // Each probe handled every message, with the real batch sizes.
    REQUIRE(j["runs"].size() == 1);
    for (const auto& probe : j["runs"][0]) {
        INFO(probe.dump());
        CHECK(probe["messages"] == 3000);
        CHECK(probe["wall_seconds"].get<double>() > 0);
    }
    const auto& store = j["runs"][0][0];
    CHECK(store["details"]["transactions"] == 47);  // 3000 / 64, rounded up
    CHECK(store["details"]["synchronous_commit"] != "off");
    const auto& drain = j["runs"][0][1];
    CHECK(drain["details"]["deliveries"] == 3000);
    const auto& nats_probe = j["runs"][0][2];
    CHECK(nats_probe["details"]["requests"] == 3000);
    CHECK(nats_probe["details"]["wakes"] == 47);
}
