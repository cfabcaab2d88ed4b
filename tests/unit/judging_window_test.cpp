#include <catch2/catch.hpp>

#include <chrono>

#include "services/logic/src/judging_window.hpp"

using chat::logic::judging_window;
using namespace std::chrono_literals;

namespace {

// Time as the reaper's steady clock would give it, starting well after its epoch.
const judging_window::clock::time_point t0 = judging_window::clock::time_point() + 1000h;

// Brokers may be judged from a full timeout (5 s) after `from`, not a moment earlier.
void check_judged_from(const judging_window& w, judging_window::clock::time_point from) {
    CHECK_FALSE(w.may_judge(from + 4999ms));
    CHECK(w.may_judge(from + 5s));
}

// NATS and the database both came up at t0.
void start(judging_window& w) {
    w.observe_nats(true, t0);
    w.database_up(t0);
}

}  // namespace

TEST_CASE("brokers are judged only after heartbeats could be heard for a full broker timeout", "[reaper]") {
    judging_window w(5s);
    CHECK_FALSE(w.may_judge(t0));  // NATS never seen connected
    w.observe_nats(true, t0);
    w.database_up(t0);
    w.observe_nats(true, t0 + 3s);  // staying connected does not restart the wait
    check_judged_from(w, t0);
    CHECK(w.may_judge(t0 + 1h));
}

TEST_CASE("without NATS nobody is judged, and after it comes back a full timeout passes first", "[reaper]") {
    judging_window w(5s);
    start(w);
    CHECK(w.may_judge(t0 + 10s));
    w.observe_nats(false, t0 + 10s);
    CHECK_FALSE(w.may_judge(t0 + 20s));
    w.observe_nats(true, t0 + 20s);
    check_judged_from(w, t0 + 20s);
}

TEST_CASE("after the database comes back, a full timeout passes first", "[reaper]") {
    judging_window w(5s);
    w.observe_nats(true, t0);
    w.database_up(t0 + 30s);
    check_judged_from(w, t0 + 30s);
}

TEST_CASE("heartbeat trouble restarts the wait", "[reaper]") {
    judging_window w(5s);
    start(w);
    CHECK(w.may_judge(t0 + 10s));
    w.heartbeat_trouble(t0 + 12s);
    check_judged_from(w, t0 + 12s);
}
