#include "bench/options.hpp"

#include <catch2/catch.hpp>

using namespace chat::bench;

namespace {
options parse(std::vector<std::string> args) {
    auto o = parse_options(args);
    REQUIRE(o.has_value());
    return *o;
}
}  // namespace

TEST_CASE("open loop dialogue") {
    auto o = parse({"--brokers", "127.0.0.1:9001,localhost:9002", "--connections", "500", "--rate",
                    "1000", "--duration", "5", "--payload", "200", "--watch", "broker=12,pg=34"});
    CHECK(o.mode == run_mode::dialogue);
    REQUIRE(o.brokers.size() == 2);
    CHECK(o.brokers[1].host == "localhost");
    CHECK(o.brokers[1].port == 9002);
    CHECK(o.connections == 500);
    CHECK(o.rate == 1000);
    CHECK_FALSE(o.closed_loop);
    CHECK(o.duration == 5);
    CHECK(o.payload == 200);
    REQUIRE(o.watch.size() == 2);
    CHECK(o.watch[1].name == "pg");
    CHECK(o.watch[1].pid == 34);
}

TEST_CASE("closed loop dialogue") {
    auto o = parse({"--closed-loop", "--window", "8"});
    CHECK(o.closed_loop);
    CHECK(o.window == 8);
}

TEST_CASE("idle and match modes") {
    auto idle = parse({"--idle", "2000", "--broker-pid", "99"});
    CHECK(idle.mode == run_mode::idle);
    CHECK(idle.idle == 2000);
    CHECK(idle.broker_pids == std::vector<pid_t>{99});
    auto match = parse({"--match-accounts", "10000", "--matchers", "32"});
    CHECK(match.mode == run_mode::match);
    CHECK(match.matchers == 32);
    CHECK(match.interest_matchers == 0);
    CHECK(match.match_waiters == 0);
    CHECK(match.loop == match_loop::people);
    CHECK(parse({"--match-accounts", "100", "--match-loop", "next"}).loop == match_loop::next);
    auto mixed = parse({"--match-accounts", "10000", "--matchers", "32", "--interest-matchers",
                        "16", "--match-waiters", "2000"});
    CHECK(mixed.interest_matchers == 16);
    CHECK(mixed.match_waiters == 2000);
}

TEST_CASE("bad command lines are refused with a reason") {
    CHECK_THROWS_AS(parse_options({}), usage_error);  // dialogue needs --rate or --closed-loop
    CHECK_THROWS_AS(parse_options({"--rate", "10", "--closed-loop"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--rate", "fast"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--rate"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--closed-loop", "--brokers", "nohost"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--closed-loop", "--brokers", "h:99999"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--closed-loop", "--payload", "5000"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--idle", "10"}), usage_error);  // no --broker-pid
    CHECK_THROWS_AS(parse_options({"--closed-loop", "--frobnicate"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--match-accounts", "100", "--match-loop", "round"}), usage_error);
    CHECK_THROWS_AS(parse_options({"--match-accounts", "100", "--matchers", "50",
                                   "--match-waiters", "50"}),
                    usage_error);  // nobody left to pick
    CHECK_THROWS_AS(parse_options({"--match-accounts", "100", "--matchers", "4",
                                   "--interest-matchers", "5", "--match-waiters", "10"}),
                    usage_error);
    CHECK_THROWS_AS(parse_options({"--match-accounts", "100", "--interest-matchers", "2"}),
                    usage_error);  // interests name waiters
    CHECK_FALSE(parse_options({"--help"}).has_value());
}
