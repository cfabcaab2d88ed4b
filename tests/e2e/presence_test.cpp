// Leaving: LOGOUT, closing the socket, going silent, and a broker dying or restarting
// all end the person's sessions and tell each partner.
#include <thread>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

void check_partner_exit(const json& push, std::int64_t session, std::int64_t receiver,
                        std::int64_t leaver) {
    INFO("push: " << push.dump());
    CHECK(push.value("cmd", json()) == "PUSH_SIGNAL");
    CHECK(push.value("signalType", json()) == "PartnerExit");
    CHECK(push.value("senderId", json()) == 0);
    CHECK(push.value("sessionId", json()) == session);
    CHECK(push.value("receiverId", json()) == receiver);
    CHECK(push.value("data", json()) == json{{"accountId", leaver}});
}

}  // namespace

TEST_CASE("LOGOUT ends every session of the account and tells each partner", "[e2e][presence]") {
    service_stack stack;
    auto a = stack.connect();
    auto b = stack.connect();
    auto alice = a->create_account("alice");
    auto bob = b->create_account("bob");
    auto ab = match_expecting(*a, *b);
    auto c = stack.connect();
    auto carol = c->create_account("carol");
    auto ac = match_expecting(*a, *c);

    auto response = a->logout();
    INFO("LOGOUT response: " << response.dump());
    CHECK(response.value("cmd", json()) == "LOGOUT");
    CHECK(code_of(response) == 0);

    check_partner_exit(expect_push(*b, signal("PartnerExit", ab), "PartnerExit to bob"), ab, bob.id,
                       alice.id);
    check_partner_exit(expect_push(*c, signal("PartnerExit", ac), "PartnerExit to carol"), ac,
                       carol.id, alice.id);
    auto late = b->say(ab, "hello?", "b1");
    check_error(late, "DIALOGUE", 8);
    CHECK(late.value("requestId", json()) == "b1");
    check_error(c->say(ac, "hello?", "c1"), "DIALOGUE", 8);
    check_error(
        b->request({{"cmd", "VIEWED_ACK"}, {"sessionId", ab}, {"accountId", bob.id}, {"msgId", 1}}),
        "VIEWED_ACK", 8);

    // The connection stays open but no longer acts as alice.
    CHECK(a->is_open());
    check_connection_works(*a);
    check_error(a->request({{"cmd", "MATCH"}, {"accountId", alice.id}}), "MATCH", 6);
    // The token is revoked.
    auto other = stack.connect();
    check_error(other->reconnect(alice.id, alice.token), "RECONNECT", 9);
    // Alice is offline: bob's only candidate is carol.
    auto rematch = b->match();
    INFO("bob's MATCH: " << rematch.dump());
    CHECK(code_of(rematch) == 0);
    CHECK(rematch.value("partnerId", json()) == carol.id);
    // And the connection may start over as someone new.
    auto again = a->create_account("alice again");
    CHECK(again.id != alice.id);
    check_services_alive(stack);
}

TEST_CASE("closing the socket without LOGOUT ends the sessions but keeps the token",
          "[e2e][presence]") {
    service_stack stack;
    auto p = make_pair(stack);

    // Abruptly: the TCP connection drops without a WebSocket close.
    p.a->abort();
    check_partner_exit(
        expect_push(*p.b, signal("PartnerExit", p.session), "PartnerExit after an abort"),
        p.session, p.bob.id, p.alice.id);
    check_error(p.b->say(p.session, "hello?", "b1"), "DIALOGUE", 8);

    // Politely: a WebSocket close, still without LOGOUT.
    auto c = stack.connect();
    auto carol = c->create_account("carol");
    auto cb = match_expecting(*c, *p.b);  // alice is offline, so bob is carol's only candidate
    c->close();
    check_partner_exit(expect_push(*p.b, signal("PartnerExit", cb), "PartnerExit after a close"),
                       cb, p.bob.id, carol.id);
    check_error(p.b->say(cb, "hello?", "b2"), "DIALOGUE", 8);

    // The token still works, and the ended session is not offered back.
    auto a2 = stack.connect();
    auto response = a2->reconnect(p.alice.id, p.alice.token);
    INFO("RECONNECT: " << response.dump());
    CHECK(code_of(response) == 0);
    CHECK(response.value("sessions", json()) == json::array());
    check_error(a2->say(p.session, "back", "a1"), "DIALOGUE", 8);
    check_services_alive(stack);
}

TEST_CASE("a client that stops answering PING is dropped and its partner told", "[e2e][presence]") {
    stack_options options;
    options.ping_interval = "200ms";
    options.ping_max_wait = "1200ms";
    service_stack stack(options);
    auto p = make_pair(stack);

    p.a->set_auto_pong(false);
    INFO(p.a->describe());
    REQUIRE(p.a->wait_closed(10s));
    CHECK(p.a->pings_received() >= 1);
    check_partner_exit(
        expect_push(*p.b, signal("PartnerExit", p.session), "PartnerExit for a silent client"),
        p.session, p.bob.id, p.alice.id);
    check_error(p.b->say(p.session, "hello?", "b1"), "DIALOGUE", 8);

    // Bob kept answering, so he is still connected and online.
    CHECK(p.b->is_open());
    check_connection_works(*p.b);
    auto c = stack.connect();
    c->create_account("carol");
    auto cb = match_expecting(*c, *p.b);
    CHECK(cb != p.session);
    check_services_alive(stack);
}

TEST_CASE("when a broker dies its accounts go offline after presence.broker_timeout",
          "[e2e][presence]") {
    stack_options options;
    options.brokers = 2;
    options.heartbeat_interval = "200ms";
    options.broker_timeout = "1500ms";
    options.presence_sweep = "200ms";
    service_stack stack(options);
    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2
    // Let logic record a few of b1's heartbeats first; dying before any is recorded is
    // the next test's case.
    std::this_thread::sleep_for(600ms);

    stack.broker(0).kill9();
    CHECK(p.a->wait_closed(5s));
    check_partner_exit(expect_push(*p.b, signal("PartnerExit", p.session),
                                   "PartnerExit for an account of a dead broker", 20s),
                       p.session, p.bob.id, p.alice.id);
    check_error(p.b->say(p.session, "hello?", "b1"), "DIALOGUE", 8);
    // Alice is offline, so there is nobody left for bob: he waits.
    check_error(p.b->match(), "MATCH", 13);
    check_connection_works(*p.b);
}

TEST_CASE("a broker that dies before logic heard from it still has its accounts taken offline",
          "[e2e][presence]") {
    stack_options options;
    options.brokers = 2;
    // The brokers' first hello and heartbeat go out before logic listens; the hello is
    // retried after a second and the next heartbeat comes after two, so b1 is killed
    // while logic has only seen it through alice's commands.
    options.brokers_first = true;
    options.heartbeat_interval = "2s";
    options.broker_timeout = "4500ms";
    options.presence_sweep = "200ms";
    service_stack stack(options);
    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2

    stack.broker(0).kill9();
    CHECK(p.a->wait_closed(5s));
    check_partner_exit(expect_push(*p.b, signal("PartnerExit", p.session),
                                   "PartnerExit for an account of a broker that died young", 20s),
                       p.session, p.bob.id, p.alice.id);
    check_error(p.b->match(), "MATCH", 13);  // alone: he waits
}

TEST_CASE("a broker restarted with the same id leaves no ghost accounts online",
          "[e2e][presence]") {
    stack_options options;
    options.brokers = 2;
    options.heartbeat_interval = "200ms";
    // Far longer than the test: only the restarted broker's announcement can clean up.
    options.broker_timeout = "120s";
    service_stack stack(options);
    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2

    stack.broker(0).kill9();
    REQUIRE(p.a->wait_closed(5s));
    stack.restart_broker(0);

    check_partner_exit(expect_push(*p.b, signal("PartnerExit", p.session),
                                   "PartnerExit for an account of the broker's previous run", 20s),
                       p.session, p.bob.id, p.alice.id);
    check_error(p.b->match(), "MATCH", 13);  // alone: he waits...
    REQUIRE(code_of(p.b->request({{"cmd", "CANCEL_MATCH"}, {"accountId", p.bob.id}})) == 0);  // ...not for long

    // The restarted broker works: a newcomer on it is matched with bob, not with alice.
    auto d = stack.connect(0);
    d->create_account("dave");
    auto db = match_expecting(*d, *p.b);
    REQUIRE(code_of(d->say(db, "hi from b1", "d1")) == 0);
    expect_push(*p.b, push_dialogue(db, 1), "a message from the restarted broker");
    REQUIRE(code_of(p.b->say(db, "hi from b2", "b1")) == 0);
    expect_push(*d, push_dialogue(db, 2), "a message to the restarted broker");

    // Alice can come back with her token, with her old session over.
    auto a2 = stack.connect(0);
    auto back = a2->reconnect(p.alice.id, p.alice.token);
    INFO("RECONNECT: " << back.dump());
    CHECK(code_of(back) == 0);
    CHECK(back.value("sessions", json()) == json::array());
    check_services_alive(stack);
}
