#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "services/logic/src/command_scheduler.hpp"

using chat::logic::command_job;
using chat::logic::command_scheduler;
using chat::logic::scheduler_limits;
using chat::logic::work_kind;
using namespace std::chrono_literals;

namespace {

// Jobs carry a tag in reply_to so a test can tell them apart.
command_job dialogue(const std::string& tag, int items) {
    command_job j{tag, {}};
    auto* batch = j.request.mutable_dialogue();
    for (int i = 0; i < items; ++i) batch->add_items()->set_request_id(tag + "." + std::to_string(i));
    return j;
}
command_job match(const std::string& tag) {
    command_job j{tag, {}};
    j.request.mutable_match()->set_account_id(1);
    return j;
}
command_job ack(const std::string& tag) {
    command_job j{tag, {}};
    j.request.mutable_ack();
    return j;
}
command_job other(const std::string& tag) {
    command_job j{tag, {}};
    j.request.mutable_logout()->set_account_id(1);
    return j;
}

struct taken {
    bool got = false;
    work_kind kind{};
    std::vector<std::string> tags;
};

taken next_now(command_scheduler& s) {
    taken out;
    std::vector<command_job> jobs;
    out.got = s.next(jobs, out.kind);
    for (const auto& j : jobs) out.tags.push_back(j.reply_to);
    return out;
}

// next() on another thread, for the cases where it must wait.
std::future<taken> next_async(command_scheduler& s) {
    return std::async(std::launch::async, [&s] { return next_now(s); });
}
bool still_waiting(std::future<taken>& f) { return f.wait_for(100ms) == std::future_status::timeout; }
// What a waiting next() returned; if it is still waiting after 5 s, the scheduler is
// stopped (so the test fails instead of hanging) and the test fails.
taken ready_soon(command_scheduler& s, std::future<taken>& f) {
    if (f.wait_for(5s) != std::future_status::ready) {
        s.stop();
        FAIL("next() is still waiting");
    }
    return f.get();
}
// next() where it must not wait.
taken next(command_scheduler& s) {
    auto f = next_async(s);
    return ready_soon(s, f);
}

using tags = std::vector<std::string>;

}  // namespace

TEST_CASE("a DIALOGUE group takes what is queued, up to dialogue_batch_max messages", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2});
    s.push(dialogue("a", 30));
    s.push(dialogue("b", 30));
    s.push(dialogue("c", 30));
    auto first = next(s);
    CHECK(first.kind == work_kind::dialogues);
    CHECK(first.tags == tags{"a", "b"});  // 60; c would make 90
    s.done(work_kind::dialogues);
    CHECK(next(s).tags == tags{"c"});
}

TEST_CASE("a DIALOGUE batch larger than the limit goes alone, never split", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 8});
    s.push(dialogue("small", 10));
    s.push(dialogue("big", 100));
    s.push(dialogue("after", 1));
    CHECK(next(s).tags == tags{"small"});
    CHECK(next(s).tags == tags{"big"});
    CHECK(next(s).tags == tags{"after"});
}

TEST_CASE("MATCHes go in groups of at most 32, ACKs of 128, other commands one at a time", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2});
    for (int i = 0; i < 40; ++i) s.push(match("m" + std::to_string(i)));
    auto matches = next(s);
    CHECK(matches.kind == work_kind::matches);
    REQUIRE(matches.tags.size() == 32);
    CHECK(matches.tags.front() == "m0");
    CHECK(matches.tags.back() == "m31");  // in arrival order
    CHECK(next(s).tags.size() == 8);

    for (int i = 0; i < 130; ++i) s.push(ack("a" + std::to_string(i)));
    auto acks = next(s);
    CHECK(acks.kind == work_kind::acks);
    CHECK(acks.tags.size() == 128);
    CHECK(next(s).tags.size() == 2);

    s.push(other("x"));
    s.push(other("y"));
    auto one = next(s);
    CHECK(one.kind == work_kind::commands);
    CHECK(one.tags == tags{"x"});
    CHECK(next(s).tags == tags{"y"});
}

TEST_CASE("DIALOGUEs wait while dialogue_transactions groups are in flight, other kinds do not", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2});
    s.push(dialogue("d1", 1));
    CHECK(next(s).tags == tags{"d1"});
    s.push(dialogue("d2", 1));
    CHECK(next(s).tags == tags{"d2"});  // the second transaction
    s.push(dialogue("d3", 1));
    s.push(dialogue("d4", 1));
    s.push(other("x"));
    CHECK(next(s).tags == tags{"x"});  // DIALOGUEs are not ready, the command is

    auto waiting = next_async(s);
    CHECK(still_waiting(waiting));
    s.done(work_kind::dialogues);  // one transaction ends: the queued ones go together
    auto grouped = ready_soon(s, waiting);
    CHECK(grouped.kind == work_kind::dialogues);
    CHECK(grouped.tags == tags{"d3", "d4"});
}

TEST_CASE("a full DIALOGUE batch never waits for a transaction slot", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 1});
    s.push(dialogue("d1", 1));
    CHECK(next(s).tags == tags{"d1"});  // the one slot is taken

    s.push(dialogue("part", 63));
    s.push(other("x"));
    CHECK(next(s).tags == tags{"x"});  // 63 of 64 messages: waits

    s.push(dialogue("full", 1));  // now exactly 64 queued
    auto full = next(s);
    CHECK(full.kind == work_kind::dialogues);
    CHECK(full.tags == tags{"part", "full"});

    // Two are in flight now; what is left (less than a batch) waits for both to end.
    s.push(dialogue("rest", 5));
    auto waiting = next_async(s);
    CHECK(still_waiting(waiting));
    s.done(work_kind::dialogues);
    CHECK(still_waiting(waiting));
    s.done(work_kind::dialogues);
    CHECK(ready_soon(s, waiting).tags == tags{"rest"});
}

TEST_CASE("MATCHes wait while match_transactions groups are in flight, unless a full group is queued",
          "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2, .match_transactions = 1,
                         .match_group_max = 3});
    s.push(match("m1"));
    CHECK(next(s).tags == tags{"m1"});  // the one slot is taken
    s.push(match("m2"));
    s.push(match("m3"));
    s.push(other("x"));
    CHECK(next(s).tags == tags{"x"});  // the MATCHes are not ready, the command is

    auto waiting = next_async(s);
    CHECK(still_waiting(waiting));
    s.push(match("m4"));  // three queued: a full group goes at once
    auto full = ready_soon(s, waiting);
    CHECK(full.kind == work_kind::matches);
    CHECK(full.tags == tags{"m2", "m3", "m4"});

    s.push(match("m5"));
    waiting = next_async(s);
    CHECK(still_waiting(waiting));
    s.done(work_kind::matches);
    CHECK(still_waiting(waiting));  // one of the two in flight ended: still at the limit
    s.done(work_kind::matches);
    CHECK(ready_soon(s, waiting).tags == tags{"m5"});
}

TEST_CASE("the kinds take turns, so a busy kind starves none of the others", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 1, .dialogue_transactions = 100, .match_group_max = 1,
                         .ack_group_max = 1});
    for (int i = 0; i < 3; ++i) {
        s.push(other("c" + std::to_string(i)));
        s.push(ack("a" + std::to_string(i)));
        s.push(match("m" + std::to_string(i)));
        s.push(dialogue("d" + std::to_string(i), 1));
    }
    std::vector<std::string> order;
    for (int i = 0; i < 12; ++i) {
        auto t = next(s);
        REQUIRE(t.tags.size() == 1);
        order.push_back(t.tags.front());
    }
    CHECK(order == tags{"d0", "m0", "a0", "c0", "d1", "m1", "a1", "c1", "d2", "m2", "a2", "c2"});

    // A steady stream of DIALOGUEs does not hold back a command queued behind it.
    for (int i = 0; i < 5; ++i) s.push(dialogue("flood" + std::to_string(i), 1));
    s.push(other("late"));
    CHECK(next(s).tags == tags{"flood0"});
    CHECK(next(s).tags == tags{"late"});
}

TEST_CASE("a waiting worker wakes when a command is queued", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2});
    auto waiting = next_async(s);
    CHECK(still_waiting(waiting));
    s.push(other("x"));
    auto t = ready_soon(s, waiting);
    CHECK(t.got);
    CHECK(t.tags == tags{"x"});
}

TEST_CASE("after stop, next hands out what is ready and returns false only when nothing is", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 2});
    SECTION("queued commands are still taken") {
        s.push(other("x"));
        s.push(match("m"));
        s.stop();
        CHECK(next(s).tags == tags{"m"});
        CHECK(next(s).tags == tags{"x"});
        CHECK_FALSE(next(s).got);
    }
    SECTION("a waiting worker is released") {
        auto waiting = next_async(s);
        CHECK(still_waiting(waiting));
        s.stop();
        CHECK_FALSE(ready_soon(s, waiting).got);
    }
}

TEST_CASE("stopping with DIALOGUEs waiting for a slot: they go to the worker whose transaction ends", "[scheduler]") {
    command_scheduler s({.dialogue_batch_max = 64, .dialogue_transactions = 1});
    s.push(dialogue("d1", 1));
    CHECK(next(s).tags == tags{"d1"});
    s.push(dialogue("d2", 1));
    s.stop();
    CHECK_FALSE(next(s).got);  // an idle worker leaves: nothing is ready for it
    s.done(work_kind::dialogues);
    auto rest = next(s);  // the worker that finished d1 comes back for d2
    CHECK(rest.got);
    CHECK(rest.tags == tags{"d2"});
    s.done(work_kind::dialogues);
    CHECK_FALSE(next(s).got);
}
