#include <catch2/catch.hpp>

#include "shared/util/backoff.hpp"

using chat::util::backoff;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles from the first delay and stops at the cap") {
    constexpr backoff b(100ms, 2000ms);
    CHECK(b.delay(0) == 100ms);
    CHECK(b.delay(1) == 200ms);
    CHECK(b.delay(2) == 400ms);
    CHECK(b.delay(4) == 1600ms);
    CHECK(b.delay(5) == 2000ms);
    CHECK(b.delay(1000) == 2000ms);  // no overflow however long the outage
}

TEST_CASE("a cap below the first delay wins") {
    constexpr backoff b(500ms, 300ms);
    CHECK(b.delay(0) == 300ms);
    CHECK(b.delay(3) == 300ms);
}
