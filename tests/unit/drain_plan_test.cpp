#include "services/dispatcher/src/drain_plan.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "shared/db/inbox_kind.hpp"
#include "shared/proto/chat.pb.h"

using chat::dispatcher::inbox_row;
using chat::dispatcher::plan_drain;
using chat::proto::Delivery;
using chat::proto::Push;

namespace {

inbox_row message_row(std::int64_t id, std::string broker, std::int64_t msg_id,
                      std::string content = "hi") {
    inbox_row r;
    r.id = id;
    r.session_id = 7;
    r.receiver_id = 2;
    r.kind = chat::db::sql_value(chat::db::inbox_kind::message);
    r.msg_id = msg_id;
    r.peer_id = 1;
    r.online = true;
    r.broker_id = std::move(broker);
    r.sender_id = 1;
    r.content = std::move(content);
    return r;
}

Push parsed(const std::string& payload) {
    Push p;
    REQUIRE(p.ParseFromString(payload));
    return p;
}

}  // namespace

TEST_CASE("a drain's rows become one push per broker, in row order, and all are handled") {
    const auto plan =
        plan_drain({message_row(10, "b1", 1), message_row(11, "b2", 2), message_row(12, "b1", 3)});
    CHECK(plan.handled == std::vector<std::int64_t>{10, 11, 12});
    REQUIRE(plan.pushes.size() == 2);
    CHECK(plan.pushes[0].broker_id == "b1");
    const auto b1 = parsed(plan.pushes[0].payload);
    REQUIRE(b1.deliveries_size() == 2);
    CHECK(b1.deliveries(0).msg_id() == 1);
    CHECK(b1.deliveries(1).msg_id() == 3);
    CHECK(b1.deliveries(0).kind() == Delivery::MESSAGE);
    CHECK(b1.deliveries(0).sender_id() == 1);
    CHECK(b1.deliveries(0).content() == "hi");
    CHECK(b1.deliveries(0).session_id() == 7);
    CHECK(b1.deliveries(0).receiver_id() == 2);
    CHECK(b1.deliveries(0).peer_id() == 1);
    CHECK(plan.pushes[1].broker_id == "b2");
    CHECK(parsed(plan.pushes[1].payload).deliveries_size() == 1);
}

TEST_CASE("rows that cannot be pushed are handled without a push") {
    auto offline = message_row(1, "b1", 1);
    offline.online = false;
    auto no_broker = message_row(2, "b1", 2);
    no_broker.broker_id.reset();
    auto unknown_kind = message_row(3, "b1", 3);
    unknown_kind.kind = 99;
    auto no_message = message_row(4, "b1", 4);
    no_message.sender_id.reset();
    const auto plan = plan_drain({offline, no_broker, unknown_kind, no_message});
    CHECK(plan.handled == std::vector<std::int64_t>{1, 2, 3, 4});
    CHECK(plan.pushes.empty());
}

TEST_CASE("an empty drain publishes nothing and handles nothing") {
    const auto plan = plan_drain({});
    CHECK(plan.handled.empty());
    CHECK(plan.pushes.empty());
}

TEST_CASE("a NEW_SESSION delivery names the peer as sender and carries its nickname") {
    inbox_row r;
    r.id = 5;
    r.session_id = 9;
    r.receiver_id = 2;
    r.kind = chat::db::sql_value(chat::db::inbox_kind::new_session);
    r.peer_id = 3;
    r.online = true;
    r.broker_id = "b1";
    r.peer_name = "carol";
    const auto plan = plan_drain({r});
    REQUIRE(plan.pushes.size() == 1);
    const auto push = parsed(plan.pushes[0].payload);
    REQUIRE(push.deliveries_size() == 1);
    CHECK(push.deliveries(0).kind() == Delivery::NEW_SESSION);
    CHECK(push.deliveries(0).sender_id() == 3);
    CHECK(push.deliveries(0).peer_id() == 3);
    CHECK(push.deliveries(0).peer_name() == "carol");
}

TEST_CASE("pushes stay under the size limit and keep the order across them") {
    std::vector<inbox_row> rows;
    for (int i = 1; i <= 10; ++i) rows.push_back(message_row(i, "b1", i, std::string(4000, 'x')));
    const auto plan = plan_drain(rows, 10 * 1024);
    REQUIRE(plan.pushes.size() >= 4);
    std::int64_t expected = 1;
    for (const auto& p : plan.pushes) {
        CHECK(p.payload.size() <= 10 * 1024);
        const auto push = parsed(p.payload);
        for (const auto& d : push.deliveries()) CHECK(d.msg_id() == expected++);
    }
    CHECK(expected == 11);
    CHECK(plan.handled.size() == 10);
}
