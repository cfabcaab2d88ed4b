#include <catch2/catch.hpp>

#include <string>

#include "services/broker/src/outbound_queue.hpp"

using chat::broker::outbound_queue;
using result = outbound_queue::push_result;
using namespace std::chrono_literals;

namespace {

outbound_queue::frame frame(std::string text = "x") { return std::make_shared<const std::string>(std::move(text)); }

const auto t0 = outbound_queue::clock::time_point{} + 1h;

// A queue whose write started at t0, filled to `n` frames.
void fill(outbound_queue& q, std::size_t n) {
    REQUIRE(q.push(frame(), t0) == result::write_now);
    q.write_started(t0);
    while (q.size() < n) REQUIRE(q.push(frame(), t0) == result::queued);
}

}  // namespace

TEST_CASE("outbound queue: one write at a time, the rest queued in order") {
    outbound_queue q(16);
    CHECK(q.push(frame("a"), t0) == result::write_now);
    q.write_started(t0);
    CHECK(q.push(frame("b"), t0) == result::queued);
    CHECK(q.push(frame("c"), t0) == result::queued);
    CHECK(*q.front() == "a");
    CHECK(q.pop_written());
    CHECK(*q.front() == "b");
    CHECK(q.pop_written());
    CHECK(*q.front() == "c");
    CHECK_FALSE(q.pop_written());
    CHECK(q.empty());
    CHECK(q.push(frame("d"), t0) == result::write_now);  // idle again: write at once
}

TEST_CASE("outbound queue: over the limit is slow only once the write has stalled for a second") {
    outbound_queue q(16);
    fill(q, 16);
    CHECK(q.push(frame(), t0 + 1s) == result::queued);  // a burst, not slowness (1 s is not over)
    CHECK(q.size() == 17);
    CHECK(q.push(frame(), t0 + 1001ms) == result::too_slow);
    CHECK(q.size() == 17);  // the refused frame was not queued

    outbound_queue under(16);
    fill(under, 15);
    CHECK(under.push(frame(), t0 + 1h) == result::queued);  // below the limit, however long
}

TEST_CASE("outbound queue: a new write restarts the stall clock") {
    outbound_queue q(16);
    fill(q, 17);
    CHECK(q.pop_written());
    q.write_started(t0 + 5s);  // the next frame's write began just now
    CHECK(q.push(frame(), t0 + 5500ms) == result::queued);
    CHECK(q.push(frame(), t0 + 6001ms) == result::too_slow);
}

TEST_CASE("outbound queue: the hard cap is 4 x the limit, at least 512") {
    CHECK(outbound_queue(16).hard_cap() == 512);
    CHECK(outbound_queue(200).hard_cap() == 800);

    outbound_queue q(200);
    fill(q, 799);
    CHECK(q.push(frame(), t0) == result::queued);  // not stalled, below the cap
    CHECK(q.push(frame(), t0) == result::too_slow);  // at the cap: at once
    CHECK(q.size() == 800);

    outbound_queue small(16);
    fill(small, 511);
    CHECK(small.push(frame(), t0) == result::queued);
    CHECK(small.push(frame(), t0) == result::too_slow);
}
