#include <catch2/catch.hpp>

#include "shared/util/rate_limiter.hpp"

using chat::util::keyed_rate_limiter;
using chat::util::token_bucket;
using namespace std::chrono_literals;

TEST_CASE("a token bucket allows its burst, then its rate") {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket bucket(10, 5, t0);
    for (int i = 0; i < 5; ++i) CHECK(bucket.try_take(t0));
    CHECK_FALSE(bucket.try_take(t0));
    CHECK_FALSE(bucket.try_take(t0 + 50ms));  // half a token
    CHECK(bucket.try_take(t0 + 100ms));       // one token after 100 ms at 10/s
    CHECK_FALSE(bucket.try_take(t0 + 100ms));
    // Idle for long: refills only up to the burst.
    int taken = 0;
    while (bucket.try_take(t0 + 1h)) ++taken;
    CHECK(taken == 5);
}

TEST_CASE("keyed limits are independent per key and idle keys are forgotten") {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    keyed_rate_limiter limiter(1, 2);
    CHECK(limiter.try_take("10.0.0.1", t0));
    CHECK(limiter.try_take("10.0.0.1", t0));
    CHECK_FALSE(limiter.try_take("10.0.0.1", t0));
    CHECK(limiter.try_take("10.0.0.2", t0));
    CHECK(limiter.size() == 2);
    limiter.sweep(t0 + 1s);
    CHECK(limiter.size() == 2);  // not yet full again
    limiter.sweep(t0 + 3s);
    CHECK(limiter.size() == 0);
}
