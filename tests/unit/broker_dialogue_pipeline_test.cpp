#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "services/broker/src/dialogue_pipeline.hpp"
#include "shared/wire/codes.hpp"

using chat::broker::dialogue_next;
using chat::broker::dialogue_pipeline;
using chat::broker::queued_dialogue;
using chat::wire::code;
using chat::wire::to_int;
using namespace std::chrono_literals;

namespace {

queued_dialogue item(int n) {
    queued_dialogue q{"r" + std::to_string(n), 7, {}};
    q.dialogue.set_request_id("r" + std::to_string(n));
    q.dialogue.set_session_id(7);
    q.dialogue.set_content("m" + std::to_string(n));
    return q;
}

std::vector<std::string> ids(const std::vector<queued_dialogue>& batch) {
    std::vector<std::string> out;
    for (const auto& q : batch) out.push_back(q.dialogue.request_id());
    return out;
}

// A reply that stores every item of a batch of `n`, msgIds from `first`.
chat::proto::Reply stored(std::size_t n, std::int64_t first = 100) {
    chat::proto::Reply reply;
    for (std::size_t i = 0; i < n; ++i) reply.mutable_dialogue()->add_results()->set_msg_id(first + static_cast<std::int64_t>(i));
    return reply;
}

chat::proto::Reply failed(code c) {
    chat::proto::Reply reply;
    reply.set_code(to_int(c));
    reply.set_msg("failed");
    return reply;
}

std::vector<std::string> answered(const dialogue_pipeline& p) {
    std::vector<std::string> out;
    for (const auto& a : p.answers()) out.push_back(a.request_id_echo.get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("dialogue pipeline: one batch in flight, what arrives meanwhile is the next batch") {
    dialogue_pipeline p;
    CHECK(p.add(item(1)) == dialogue_next::send);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r1"});
    CHECK(p.add(item(2)) == dialogue_next::wait);
    CHECK(p.add(item(3)) == dialogue_next::wait);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r1"});  // not joined to the batch at logic
    CHECK(p.queued() == 2);

    const auto reply = stored(1);
    CHECK(p.on_reply(&reply, "") == dialogue_next::send);
    REQUIRE(p.answers().size() == 1);
    CHECK(p.answers()[0].request_id_echo == "r1");
    CHECK(p.answers()[0].result.msg_id() == 100);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r2", "r3"});
    CHECK(p.queued() == 0);

    const auto second = stored(2, 101);
    CHECK(p.on_reply(&second, "") == dialogue_next::wait);  // nothing left to send
    CHECK(answered(p) == std::vector<std::string>{"r2", "r3"});
    CHECK(p.in_flight_count() == 0);
    CHECK(p.add(item(4)) == dialogue_next::send);  // idle again: goes at once
}

TEST_CASE("dialogue pipeline: a batch holds at most 64 and send order is kept across batches") {
    dialogue_pipeline p;
    REQUIRE(p.add(item(0)) == dialogue_next::send);
    for (int i = 1; i <= 100; ++i) REQUIRE(p.add(item(i)) == dialogue_next::wait);
    std::vector<std::string> sent = ids(p.in_flight());
    std::vector<std::string> answers;
    while (p.in_flight_count() > 0) {
        CHECK(p.in_flight_count() <= dialogue_pipeline::k_max_batch);
        const auto reply = stored(p.in_flight_count());
        const auto next = p.on_reply(&reply, "");
        for (auto& a : answered(p)) answers.push_back(a);
        if (next == dialogue_next::send) {
            for (auto& id : ids(p.in_flight())) sent.push_back(id);
        } else {
            CHECK(next == dialogue_next::wait);
        }
    }
    std::vector<std::string> expected;
    for (int i = 0; i <= 100; ++i) expected.push_back("r" + std::to_string(i));
    CHECK(sent == expected);
    CHECK(answers == expected);
}

TEST_CASE("dialogue pipeline: a full batch is exactly 64") {
    dialogue_pipeline p;
    p.add(item(0));
    for (int i = 1; i <= 70; ++i) p.add(item(i));
    const auto reply = stored(1);
    REQUIRE(p.on_reply(&reply, "") == dialogue_next::send);
    CHECK(p.in_flight_count() == 64);
    CHECK(p.queued() == 6);
}

TEST_CASE("dialogue pipeline: transient failures retry the same batch with 250 ms doubling") {
    dialogue_pipeline p;
    p.add(item(1));
    p.add(item(2));  // waits behind the batch
    const auto code2 = failed(code::internal_error);

    CHECK(p.attempt() == 1);
    CHECK(p.on_reply(&code2, "") == dialogue_next::retry_later);
    CHECK(p.answers().empty());
    CHECK(p.retry_delay() == 250ms);
    CHECK(p.retry() == dialogue_next::send);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r1"});  // the same batch, not r2 joined

    CHECK(p.on_reply(nullptr, "no answer") == dialogue_next::retry_later);  // no reply is transient too
    CHECK(p.retry_delay() == 500ms);
    p.retry();

    // One item failing with code 2 inside an otherwise good reply is transient too.
    auto partial = stored(1);
    partial.mutable_dialogue()->mutable_results(0)->set_code(to_int(code::internal_error));
    CHECK(p.on_reply(&partial, "") == dialogue_next::retry_later);
    CHECK(p.retry_delay() == 1000ms);
    p.retry();
    CHECK(p.attempt() == 4);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r1"});

    // A success on the last try answers it and sends what waited.
    const auto ok = stored(1);
    CHECK(p.on_reply(&ok, "") == dialogue_next::send);
    CHECK(answered(p) == std::vector<std::string>{"r1"});
    CHECK(p.answers()[0].result.code() == 0);
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r2"});
    CHECK(p.attempt() == 1);
}

TEST_CASE("dialogue pipeline: giving up fails the batch and everything queued behind it") {
    dialogue_pipeline p;
    p.add(item(1));
    p.add(item(2));
    p.add(item(3));
    for (int attempt = 1; attempt < dialogue_pipeline::k_attempts; ++attempt) {
        REQUIRE(p.on_reply(nullptr, "the chat service did not answer in time; retry") == dialogue_next::retry_later);
        p.retry();
    }
    p.add(item(4));  // arrives during the last try
    CHECK(p.on_reply(nullptr, "the chat service did not answer in time; retry") == dialogue_next::wait);
    CHECK(answered(p) == std::vector<std::string>{"r1", "r2", "r3", "r4"});
    for (const auto& a : p.answers()) CHECK(a.result.code() == to_int(code::internal_error));
    CHECK(p.answers()[0].result.msg() == "the chat service did not answer in time; retry");
    CHECK(p.answers()[1].result.msg() == "an earlier message could not be stored; resend in order");
    CHECK(p.answers()[3].result.msg() == "an earlier message could not be stored; resend in order");
    CHECK(p.in_flight_count() == 0);
    CHECK(p.queued() == 0);
    CHECK(p.add(item(5)) == dialogue_next::send);  // the client's resend goes out at once
}

TEST_CASE("dialogue pipeline: a permanent refusal is answered at once and the queue goes on") {
    dialogue_pipeline p;
    p.add(item(1));
    p.add(item(2));
    const auto forbidden = failed(code::forbidden);
    CHECK(p.on_reply(&forbidden, "") == dialogue_next::send);
    REQUIRE(p.answers().size() == 1);
    CHECK(p.answers()[0].result.code() == to_int(code::forbidden));
    CHECK(p.answers()[0].result.msg() == "failed");
    CHECK(ids(p.in_flight()) == std::vector<std::string>{"r2"});  // not failed with it
}

TEST_CASE("dialogue pipeline: an incomplete reply answers the missing items with code 2") {
    dialogue_pipeline p;
    p.add(item(1));
    p.add(item(2));
    p.add(item(3));
    const auto first = stored(1);
    REQUIRE(p.on_reply(&first, "") == dialogue_next::send);  // r2, r3 now in flight
    const auto short_reply = stored(1, 200);
    CHECK(p.on_reply(&short_reply, "") == dialogue_next::wait);
    REQUIRE(p.answers().size() == 2);
    CHECK(p.answers()[0].result.msg_id() == 200);
    CHECK(p.answers()[1].result.code() == to_int(code::internal_error));
    CHECK(p.answers()[1].result.msg() == "incomplete reply from the chat service");
}
