#include "bench/match_mix.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace chat::bench;

TEST_CASE("in a Next-loop run clients take their roles by index") {
    const match_mix mix{4, 2, 10, match_loop::next};  // 4 matchers, 2 with interests, 10 waiters
    CHECK(role_of(mix, 0) == match_role::interest_matcher);
    CHECK(role_of(mix, 1) == match_role::interest_matcher);
    CHECK(role_of(mix, 2) == match_role::plain_matcher);
    CHECK(role_of(mix, 3) == match_role::plain_matcher);
    CHECK(role_of(mix, 4) == match_role::waiter);
    CHECK(role_of(mix, 13) == match_role::waiter);
    CHECK(role_of(mix, 14) == match_role::bystander);
    CHECK(waiter_tag(mix, 4) == "t0");
    CHECK(waiter_tag(mix, 13) == "t9");
    CHECK(is_matcher(match_role::plain_matcher));
    CHECK_FALSE(is_matcher(match_role::waiter));
}

TEST_CASE("in a people run the waiters come first and everyone else is asked in turn") {
    const match_mix mix{4, 2, 10, match_loop::people};  // the 4 matchers are loops, not clients
    CHECK(role_of(mix, 0) == match_role::waiter);
    CHECK(role_of(mix, 9) == match_role::waiter);
    CHECK(role_of(mix, 10) == match_role::bystander);
    CHECK(waiter_tag(mix, 0) == "t0");
    CHECK(waiter_tag(mix, 9) == "t9");
}

TEST_CASE("an interest matcher names consecutive waiters from its own place in the pool") {
    const match_mix mix{4, 2, 10};
    CHECK(matcher_tags(mix, 0, 0) == std::vector<std::string>{"t0", "t1", "t2"});
    CHECK(matcher_tags(mix, 0, 1) == std::vector<std::string>{"t1", "t2", "t3"});
    CHECK(matcher_tags(mix, 1, 0) == std::vector<std::string>{"t5", "t6", "t7"});
    CHECK(matcher_tags(mix, 1, 4) == std::vector<std::string>{"t9", "t0", "t1"});  // wraps
    // Every tag names a waiter; W MATCHes in a row name every waiter.
    std::set<std::string> named;
    for (std::uint64_t n = 0; n < mix.waiters; ++n) {
        for (const auto& t : matcher_tags(mix, 1, n)) named.insert(t);
    }
    CHECK(named.size() == mix.waiters);
}

TEST_CASE("without waiters or with fewer than three, the tags fit") {
    CHECK(matcher_tags(match_mix{4, 0, 0}, 0, 0).empty());
    CHECK(matcher_tags(match_mix{4, 1, 2}, 0, 0) == std::vector<std::string>{"t0", "t1"});
}
