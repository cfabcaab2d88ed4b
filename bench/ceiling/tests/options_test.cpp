#include "bench/ceiling/options.hpp"

#include <catch2/catch.hpp>

using namespace chat::bench::ceiling;
using chat::bench::usage_error;

namespace {
const std::vector<std::string> k_required{
    "--pg-url",   "postgresql://postgres@127.0.0.1:5432/postgres",
    "--nats-url", "nats://127.0.0.1:4222",
    "--nats-pid", "42"};
std::vector<std::string> with(std::vector<std::string> extra) {
    auto args = k_required;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}
}  // namespace

TEST_CASE("the defaults are the services' own") {
    const auto o = parse_options(k_required);
    REQUIRE(o);
    CHECK(o->nats_pid == 42);
    CHECK(o->batch == chat::logic::logic_settings{}.dialogue_batch_max);
    CHECK(o->drain_batch == chat::dispatcher::dispatcher_settings{}.batch_max);
    CHECK(o->drainers == chat::dispatcher::dispatcher_settings{}.workers);
    CHECK(o->payload == 100);
    CHECK(o->messages == 200'000);
    CHECK(o->warmup == 20'000);
    CHECK(o->cores == 0);  // online CPUs
    CHECK(o->runs == 1);
    // A broker id of its own, so a chat system on the same nats-server stays out of the probe.
    CHECK(o->broker_id.size() == 7);
    CHECK(o->broker_id[0] == 'c');
    CHECK(parse_options(k_required)->broker_id != o->broker_id);
}

TEST_CASE("every option") {
    const auto o = parse_options(
        with({"--cores",          "1.5",      "--messages",          "1000", "--warmup",      "0",
              "--batch",          "16",       "--drain-batch",       "100",  "--payload",     "200",
              "--sessions",       "10",       "--items-per-request", "4",    "--nats-window", "8",
              "--ws-connections", "4",        "--ws-window",         "2",    "--ws-threads",  "1",
              "--runs",           "3",        "--broker-id",         "b9",   "--migrations",  "m",
              "--json",           "out.json", "--drainers",          "4"}));
    REQUIRE(o);
    CHECK(o->cores == 1.5);
    CHECK(o->messages == 1000);
    CHECK(o->warmup == 0);
    CHECK(o->batch == 16);
    CHECK(o->drain_batch == 100);
    CHECK(o->drainers == 4);
    CHECK(o->payload == 200);
    CHECK(o->sessions == 10);
    CHECK(o->items_per_request == 4);
    CHECK(o->nats_window == 8);
    CHECK(o->ws_connections == 4);
    CHECK(o->ws_window == 2);
    CHECK(o->ws_threads == 1);
    CHECK(o->runs == 3);
    CHECK(o->broker_id == "b9");
    CHECK(o->migrations == "m");
    CHECK(o->json_path == "out.json");
    CHECK_FALSE(parse_options({"--help"}));
}

TEST_CASE("a subset of the probes") {
    CHECK(parse_options(k_required)->runs_probe("nats"));
    const auto ws = parse_options(with({"--probes", "websocket"}));
    REQUIRE(ws);
    CHECK(ws->runs_probe("websocket"));
    CHECK_FALSE(ws->runs_probe("store"));
    CHECK(parse_options(with({"--probes", "store,drain"}))->runs_probe("drain"));
    CHECK_THROWS_AS(parse_options(with({"--probes", "drain"})),
                    usage_error);  // drains what store wrote
    CHECK_THROWS_AS(parse_options(with({"--probes", "store,nats"})),
                    usage_error);  // sends what drain pushed
    CHECK_THROWS_AS(parse_options(with({"--probes", "store,,drain"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--probes", "disk"})), usage_error);
}

TEST_CASE("bad command lines are refused with a reason") {
    CHECK_THROWS_AS(parse_options({}), usage_error);
    CHECK_THROWS_AS(parse_options({"--pg-url", "x", "--nats-url", "y"}),
                    usage_error);  // no --nats-pid
    CHECK_THROWS_AS(parse_options(with({"--payload", "5000"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--ws-connections", "3"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--batch", "8", "--items-per-request", "9"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--messages", "0"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--cores", "-1"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--frobnicate"})), usage_error);
    CHECK_THROWS_AS(parse_options(with({"--runs"})), usage_error);
}
