#include <catch2/catch.hpp>

#include "services/broker/src/ack_coalescer.hpp"

using chat::broker::ack_coalescer;
using positions = ack_coalescer::positions;

TEST_CASE("acks: one request at a time, the highest msgId per session gathered meanwhile") {
    ack_coalescer acks;
    CHECK(acks.add(1, 10));
    const auto* first = acks.begin_flush();
    REQUIRE(first != nullptr);
    CHECK(*first == positions{{1, 10}});
    CHECK(acks.in_flight());

    CHECK_FALSE(acks.add(1, 12));  // one is out: wait for its reply
    CHECK_FALSE(acks.add(1, 11));  // lower: does not move the position back
    CHECK_FALSE(acks.add(2, 5));
    CHECK(acks.begin_flush() == nullptr);  // never two at logic

    chat::proto::Reply ok;
    ok.mutable_ack();
    CHECK(acks.on_reply(&ok));  // flush again
    CHECK(acks.rejected().empty());
    const auto* second = acks.begin_flush();
    REQUIRE(second != nullptr);
    CHECK(*second == positions{{1, 12}, {2, 5}});

    CHECK(acks.on_reply(&ok));
    CHECK(acks.begin_flush() == nullptr);  // nothing gathered
}

TEST_CASE("acks: positions of a request without reply are kept and merged with newer ones") {
    ack_coalescer acks;
    acks.add(1, 10);
    acks.add(2, 20);
    REQUIRE(acks.begin_flush());
    acks.add(1, 15);
    acks.add(2, 19);
    CHECK_FALSE(acks.on_reply(nullptr));  // wait for the client's next ACK
    CHECK(acks.rejected().empty());
    CHECK(acks.pending() == positions{{1, 15}, {2, 20}});
    CHECK(acks.add(3, 1));
    const auto* again = acks.begin_flush();
    REQUIRE(again != nullptr);
    CHECK(*again == positions{{1, 15}, {2, 20}, {3, 1}});
}

TEST_CASE("acks: refused positions are reported") {
    ack_coalescer acks;
    acks.add(1, 10);
    acks.add(2, 20);
    REQUIRE(acks.begin_flush());

    chat::proto::Reply some;
    auto* r = some.mutable_ack()->add_rejected();
    r->set_session_id(2);
    r->set_msg_id(20);
    r->set_code(5);
    r->set_msg("not your session");
    CHECK(acks.on_reply(&some));
    REQUIRE(acks.rejected().size() == 1);
    CHECK(acks.rejected()[0].session_id == 2);
    CHECK(acks.rejected()[0].msg_id == 20);
    CHECK(acks.rejected()[0].code == 5);
    CHECK(acks.rejected()[0].msg == "not your session");

    acks.add(3, 30);
    REQUIRE(acks.begin_flush());
    chat::proto::Reply all;
    all.set_code(2);
    all.set_msg("database down");
    CHECK(acks.on_reply(&all));
    REQUIRE(acks.rejected().size() == 1);  // every position of that request, and only them
    CHECK(acks.rejected()[0].session_id == 3);
    CHECK(acks.rejected()[0].code == 2);
    CHECK(acks.rejected()[0].msg == "database down");
    CHECK(acks.pending().empty());  // a refusal is an answer: not kept for a retry
}
