#include <catch2/catch.hpp>

#include "services/broker/src/message_limits.hpp"

using chat::broker::message_limits;
using chat::util::keyed_rate_limiter;
using namespace std::chrono_literals;
namespace wire = chat::wire;

namespace {
const auto t0 = message_limits::clock::time_point{} + 1h;
}

TEST_CASE("message limits: PONG and ACK are never counted") {
    CHECK_FALSE(message_limits::counted(wire::pong_request{}));
    CHECK_FALSE(message_limits::counted(wire::ack_request{1, 2}));
    CHECK(message_limits::counted(wire::ping_request{}));
    CHECK(message_limits::counted(wire::match_request{1, {}}));
    CHECK(message_limits::counted(wire::dialogue_request{}));
    CHECK(message_limits::counted(wire::create_account_request{"n"}));
}

TEST_CASE("message limits: a connection's bucket allows twice its rate as a burst") {
    message_limits limits(5, nullptr, t0);
    for (int i = 0; i < 10; ++i) CHECK(limits.allow(0, t0));
    CHECK_FALSE(limits.allow(0, t0));
    CHECK(limits.allow(0, t0 + 200ms));  // one more token at 5/s
    CHECK_FALSE(limits.allow(0, t0 + 200ms));

    message_limits unlimited(0, nullptr, t0);
    for (int i = 0; i < 1000; ++i) REQUIRE(unlimited.allow(42, t0));
}

TEST_CASE("message limits: an account's bucket is shared by its connections") {
    keyed_rate_limiter per_account(1, 3);
    message_limits a(0, &per_account, t0);
    message_limits b(0, &per_account, t0);
    CHECK(a.allow(7, t0));
    CHECK(b.allow(7, t0));
    CHECK(a.allow(7, t0));
    CHECK_FALSE(b.allow(7, t0));  // the account's burst is spent, whichever connection asks
    CHECK(b.allow(8, t0));        // another account is not affected
    for (int i = 0; i < 10; ++i) CHECK(a.allow(0, t0));  // not logged in: no account to count
}

TEST_CASE("message limits: a message refused by the connection's bucket costs the account nothing") {
    keyed_rate_limiter per_account(1, 3);
    message_limits limits(1, &per_account, t0);  // burst 2
    CHECK(limits.allow(7, t0));
    CHECK(limits.allow(7, t0));
    CHECK_FALSE(limits.allow(7, t0));
    CHECK_FALSE(limits.allow(7, t0));
    message_limits other(0, &per_account, t0);
    CHECK(other.allow(7, t0));  // the third token: not spent by the refused ones
    CHECK_FALSE(other.allow(7, t0));
}
