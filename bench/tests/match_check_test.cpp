#include "bench/match_check.hpp"

#include <catch2/catch.hpp>

using namespace chat::bench;

TEST_CASE("matches and leaves told their partners once pass") {
    match_records r;
    r.matches = {{1, 20}, {2, 21}};          // 20 picked at random, 21 taken from the pool
    r.new_sessions = {{1, 20}, {2, 21}};
    r.leaves = {{1, 20}, {2, 21}};
    r.partner_exits = {{2, 21}, {1, 20}};    // any order
    const auto v = check_matches(r);
    CHECK(v.ok());
    CHECK(v.examples.empty());
    CHECK(v.new_session_unasked == 0);
}

TEST_CASE("a partner never told, or told twice, fails") {
    match_records r;
    r.matches = {{1, 20}, {2, 21}};
    r.new_sessions = {{2, 21}, {2, 21}};
    r.leaves = {{2, 21}};
    const auto v = check_matches(r);
    CHECK_FALSE(v.ok());
    CHECK(v.new_session_missing == 1);
    CHECK(v.new_session_duplicated == 1);
    CHECK(v.partner_exit_missing == 1);
    CHECK(v.examples.size() == 3);
}

TEST_CASE("a PartnerExit nobody caused fails, a NewSession nobody asked for is counted") {
    match_records r;
    r.new_sessions = {{5, 30}};     // e.g. the pool's sweep paired a waiter
    r.partner_exits = {{5, 30}};    // but nobody left session 5
    const auto v = check_matches(r);
    CHECK(v.new_session_unasked == 1);
    CHECK(v.partner_exit_unexplained == 1);
    CHECK_FALSE(v.ok());
}

TEST_CASE("the examples stop at the limit") {
    match_records r;
    for (int i = 0; i < 20; ++i) r.matches.push_back({i, 100 + i});
    const auto v = check_matches(r, 5);
    CHECK(v.new_session_missing == 20);
    CHECK(v.examples.size() == 5);
}
