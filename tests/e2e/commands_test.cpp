// Each command of docs/protocol.md and the fields of its response and pushes.
#include <regex>

#include "tests/e2e/e2e.hpp"
#include "tests/support/peer_socket.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

std::string repeat(const std::string& piece, int times) {
    std::string text;
    for (int i = 0; i < times; ++i) text += piece;
    return text;
}

}  // namespace

TEST_CASE("CRT_ACCOUNT creates an account, binds the connection and returns a token",
          "[e2e][commands]") {
    service_stack stack;
    auto client = stack.connect();

    auto response = client->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "alice"}});
    INFO("response: " << response.dump());
    CHECK(response.value("cmd", json()) == "CRT_ACCOUNT");
    CHECK(code_of(response) == 0);
    CHECK(response.value("nickName", json()) == "alice");
    REQUIRE(response.value("accountId", json()).is_number_integer());
    auto id = response["accountId"].get<std::int64_t>();
    CHECK(id > 0);
    REQUIRE(response.value("token", json()).is_string());
    auto token = response["token"].get<std::string>();
    CHECK(std::regex_match(token, std::regex("[0-9a-f]{64}")));

    // The connection now acts as the account.
    auto pong = client->request({{"cmd", "PING"}});
    CHECK(pong.value("accountId", json()) == id);

    // One account per connection.
    check_error(client->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "again"}}), "CRT_ACCOUNT",
                10);
    CHECK(client->request({{"cmd", "PING"}}).value("accountId", json()) == id);

    // Nicknames need not be unique; ids and tokens are.
    auto other = stack.connect();
    auto second = other->create_account("alice");
    CHECK(second.id != id);
    CHECK(second.token != token);

    // 32 code points are allowed even when they take 96 bytes; surrounding whitespace is
    // not part of the name.
    auto third = stack.connect();
    auto wide = repeat("\xe6\x9d\x8e", 32);  // 32 x U+674E
    auto wide_response = third->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", wide}});
    CHECK(code_of(wide_response) == 0);
    CHECK(wide_response.value("nickName", json()) == wide);
    auto fourth = stack.connect();
    auto trimmed = fourth->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "  dave \t"}});
    CHECK(code_of(trimmed) == 0);
    CHECK(trimmed.value("nickName", json()) == "dave");

    check_services_alive(stack);
}

TEST_CASE("MATCH pairs two online strangers and sends the partner NewSession", "[e2e][commands]") {
    service_stack stack;
    auto a = stack.connect();
    auto b = stack.connect();
    auto alice = a->create_account("alice");
    auto bob = b->create_account("bob");

    auto response = a->match();
    INFO("MATCH response: " << response.dump());
    CHECK(response.value("cmd", json()) == "MATCH");
    REQUIRE(code_of(response) == 0);
    CHECK(response.value("partnerId", json()) == bob.id);
    CHECK(response.value("partnerName", json()) == "bob");
    REQUIRE(response.value("sessionId", json()).is_number_integer());
    auto session = response["sessionId"].get<std::int64_t>();
    CHECK(session > 0);

    auto push = expect_push(*b, signal("NewSession", session), "NewSession push to bob");
    INFO("push: " << push.dump());
    CHECK(push.value("senderId", json()) == alice.id);
    CHECK(push.value("receiverId", json()) == bob.id);
    CHECK(push.value("data", json()) ==
          json{{"accountId", alice.id}, {"nickName", "alice"}, {"commonInterests", json::array()}});

    // The requester learns of the session from its response, not from a push as well.
    expect_no_push(*a, signal("NewSession", session), "NewSession push to the requester");
    // Nor does bob get the signal twice.
    expect_no_push(*b, signal("NewSession", session), "second NewSession push to bob", 200ms);
    check_services_alive(stack);
}

TEST_CASE("MATCH never pairs someone with themself or twice with the same partner",
          "[e2e][commands]") {
    service_stack stack;
    auto a = stack.connect();
    a->create_account("alice");

    // Alone online: nobody to match, not even oneself: alice waits (13).
    check_error(a->match(), "MATCH", 13);

    // bob logs in: alice, waiting, has him at once; neither asked just now, so both hear
    // of it by NewSession.
    auto b = stack.connect();
    auto bob = b->create_account("bob");
    const auto to_alice = expect_push(*a, any_push(), "NewSession to the waiting alice");
    CHECK(to_alice.value("signalType", json()) == "NewSession");
    CHECK(to_alice["data"].value("accountId", json()) == bob.id);
    const auto ab = to_alice.value("sessionId", json(0)).get<std::int64_t>();
    expect_push(*b, signal("NewSession", ab), "NewSession to bob, who just arrived");

    // Alice and Bob already share an open session, in either direction: they wait.
    check_error(a->match(), "MATCH", 13);
    check_error(b->match(), "MATCH", 13);
    CHECK(code_of(a->request({{"cmd", "CANCEL_MATCH"}, {"accountId", a->account_id()}})) == 0);
    CHECK(code_of(b->request({{"cmd", "CANCEL_MATCH"}, {"accountId", b->account_id()}})) == 0);

    // A third person is a new candidate for both.
    auto c = stack.connect();
    auto carol = c->create_account("carol");
    auto ac = match_expecting(*a, *c);
    auto bc_response = b->match();
    INFO("bob's MATCH: " << bc_response.dump());
    REQUIRE(code_of(bc_response) == 0);
    CHECK(bc_response.value("partnerId", json()) == carol.id);
    auto bc = bc_response.value("sessionId", json(0)).get<std::int64_t>();
    expect_push(*c, signal("NewSession", bc), "NewSession push to carol from bob");

    CHECK(ab != ac);
    CHECK(ac != bc);
    CHECK(ab != bc);
    // Carol now shares a session with everyone online.
    check_error(c->match(), "MATCH", 13);
    check_services_alive(stack);
}

TEST_CASE("DIALOGUE is answered with a msgId and pushed to the partner", "[e2e][commands]") {
    service_stack stack;
    auto p = make_pair(stack);

    // Content travels byte for byte: quotes, escapes, markup, non-BMP characters.
    std::string content = "h\xc3\xa9llo \"w\xc3\xb6rld\"\n\t\xf0\x9f\x98\x80 <b>&amp;</b> \\";
    auto response = p.a->say(p.session, content, "alice:1");
    INFO("response: " << response.dump());
    CHECK(response.value("cmd", json()) == "DIALOGUE");
    CHECK(code_of(response) == 0);
    CHECK(response.value("requestId", json()) == "alice:1");
    CHECK(response.value("msgId", json()) == 1);
    CHECK(response.value("sessionId", json()) == p.session);

    auto push = expect_push(*p.b, push_dialogue(p.session, 1), "PUSH_DIALOGUE 1 to bob");
    INFO("push: " << push.dump());
    CHECK(push.value("senderId", json()) == p.alice.id);
    CHECK(push.value("content", json()) == content);

    // An integer requestId comes back as an integer.
    auto reply = p.b->say(p.session, "hi alice", 42);
    INFO("reply: " << reply.dump());
    CHECK(code_of(reply) == 0);
    CHECK(reply.value("requestId", json()) == 42);
    CHECK(reply.value("msgId", json()) == 2);
    auto back = expect_push(*p.a, push_dialogue(p.session, 2), "PUSH_DIALOGUE 2 to alice");
    CHECK(back.value("senderId", json()) == p.bob.id);
    CHECK(back.value("content", json()) == "hi alice");

    // The longest allowed content, 4096 bytes of two-byte characters.
    auto longest = repeat("\xc3\xa9", 2048);
    auto long_response = p.a->say(p.session, longest, "alice:2");
    CHECK(code_of(long_response) == 0);
    CHECK(long_response.value("msgId", json()) == 3);
    auto long_push = expect_push(*p.b, push_dialogue(p.session, 3), "PUSH_DIALOGUE 3 to bob");
    CHECK(long_push.value("content", json()) == longest);

    // Nobody gets their own messages pushed back.
    expect_no_push(*p.a, push_dialogue(p.session, 1), "alice's own message pushed to her");
    expect_no_push(*p.b, push_dialogue(p.session, 2), "bob's own message pushed to him", 200ms);
    check_services_alive(stack);
}

// With Nagle's algorithm a push written while the previous frame is still unacknowledged
// by the client's TCP waits for its delayed ACK, up to 40 ms (the steady benchmark's
// delivery p99 was 30 ms because of it).
TEST_CASE("the broker writes to its WebSockets without Nagle's delay (TCP_NODELAY)", "[e2e][commands]") {
    service_stack stack;
    auto client = stack.connect();
    client->create_account("nagle");
    const auto nodelay = peer_socket_nodelay(stack.broker(0).pid(), stack.broker_port(), client->local_port());
    INFO("the broker's socket for our connection (pid " << stack.broker(0).pid() << ", port "
                                                         << client->local_port() << ")");
    REQUIRE(nodelay.has_value());
    CHECK(*nodelay);
}

TEST_CASE("VIEWED_ACK moves the read position forward and tells the partner", "[e2e][commands]") {
    service_stack stack;
    auto p = make_pair(stack);
    REQUIRE(p.a->say(p.session, "one", "a1").value("msgId", json()) == 1);
    REQUIRE(p.a->say(p.session, "two", "a2").value("msgId", json()) == 2);
    collect_dialogue(*p.b, p.session, 2);

    auto ack = [&](std::int64_t msg_id) {
        return p.b->request({{"cmd", "VIEWED_ACK"},
                             {"sessionId", p.session},
                             {"accountId", p.bob.id},
                             {"msgId", msg_id}});
    };
    auto response = ack(1);
    INFO("response: " << response.dump());
    CHECK(response.value("cmd", json()) == "VIEWED_ACK");
    CHECK(code_of(response) == 0);
    CHECK(response.value("sessionId", json()) == p.session);
    CHECK(response.value("msgId", json()) == 1);

    auto push = expect_push(*p.a, viewed_push(p.session), "PUSH_VIEWED_ACK to alice");
    CHECK(push == json{{"cmd", "PUSH_VIEWED_ACK"},
                       {"sessionId", p.session},
                       {"accountId", p.bob.id},
                       {"msgId", 1}});

    // An ack at the stored position answers 0 and pushes nothing: the next push alice
    // sees is the one for msgId 2.
    CHECK(code_of(ack(1)) == 0);
    CHECK(code_of(ack(2)) == 0);
    auto next = expect_push(*p.a, viewed_push(p.session), "PUSH_VIEWED_ACK for msgId 2");
    CHECK(next.value("msgId", json()) == 2);
    // A lower one does not move the position back.
    CHECK(code_of(ack(1)) == 0);
    expect_no_push(*p.a, viewed_push(p.session), "PUSH_VIEWED_ACK for an ack that moved nothing");

    // Beyond the session's last message.
    check_error(ack(3), "VIEWED_ACK", 4);
    // The reader's own push does not come back to the reader.
    expect_no_push(*p.b, viewed_push(p.session), "PUSH_VIEWED_ACK to the reader", 200ms);
    check_services_alive(stack);
}

TEST_CASE("a client PING is answered with PONG and a client PONG is not answered",
          "[e2e][commands]") {
    service_stack stack;
    auto client = stack.connect();
    auto pong = client->ping();
    CHECK(pong.value("cmd", json()) == "PONG");
    CHECK(pong.value("accountId", json()) == 0);

    auto alice = client->create_account("alice");
    CHECK(client->ping().value("accountId", json()) == alice.id);

    client->send({{"cmd", "PONG"}, {"accountId", alice.id}});
    expect_no_push(
        *client, [](const json&) { return true; }, "answer to a client PONG");
    check_connection_works(*client);
}

TEST_CASE("the broker PINGs every ping.interval and a client that answers stays online",
          "[e2e][commands]") {
    stack_options options;
    options.ping_interval = "250ms";
    options.ping_max_wait = "1500ms";
    service_stack stack(options);
    auto p = make_pair(stack);
    auto anonymous = stack.connect();

    REQUIRE(p.a->wait_pings(3, 5s));
    auto ping = p.a->last_ping();
    REQUIRE(ping.has_value());
    CHECK(ping->value("cmd", json()) == "PING");
    CHECK(ping->value("accountId", json()) == p.alice.id);
    REQUIRE(anonymous->wait_pings(1, 5s));
    CHECK(anonymous->last_ping()->value("accountId", json()) == 0);

    // Well past ping.max_wait with only PONGs sent: nobody is dropped.
    expect_no_push(*p.b, signal("PartnerExit", p.session), "PartnerExit while both answer PING",
                   3500ms);
    CHECK(p.a->is_open());
    CHECK(p.b->is_open());
    CHECK(anonymous->is_open());
    CHECK(code_of(p.a->say(p.session, "still here", "a1")) == 0);
    expect_push(*p.b, push_dialogue(p.session, 1), "PUSH_DIALOGUE after the PINGs");
    check_services_alive(stack);
}

TEST_CASE("commands that need an account answer 6 before CRT_ACCOUNT or RECONNECT",
          "[e2e][commands]") {
    service_stack stack;
    // Someone else exists, so the ids below are real ones.
    auto other = stack.connect();
    auto bob = other->create_account("bob");

    auto client = stack.connect();
    check_error(client->request({{"cmd", "MATCH"}, {"accountId", bob.id}}), "MATCH", 6);
    auto dialogue = client->request({{"cmd", "DIALOGUE"},
                                     {"requestId", "r1"},
                                     {"senderId", bob.id},
                                     {"sessionId", 1},
                                     {"content", "x"}});
    check_error(dialogue, "DIALOGUE", 6);
    CHECK(dialogue.value("requestId", json()) == "r1");
    check_error(client->request(
                    {{"cmd", "VIEWED_ACK"}, {"sessionId", 1}, {"accountId", bob.id}, {"msgId", 1}}),
                "VIEWED_ACK", 6);
    check_error(client->request({{"cmd", "LOGOUT"}, {"accountId", bob.id}}), "LOGOUT", 6);
    check_connection_works(*client);
    // Bob was not touched by any of it.
    check_connection_works(*other);
    check_services_alive(stack);
}

TEST_CASE("RECONNECT with the right token rebinds the account and keeps its sessions",
          "[e2e][commands]") {
    service_stack stack;
    auto p = make_pair(stack);
    REQUIRE(code_of(p.a->say(p.session, "before", "a1")) == 0);
    expect_push(*p.b, push_dialogue(p.session, 1), "PUSH_DIALOGUE before the reconnect");

    auto a2 = stack.connect();
    auto response = a2->reconnect(p.alice.id, p.alice.token);
    INFO("response: " << response.dump());
    CHECK(response.value("cmd", json()) == "RECONNECT");
    REQUIRE(code_of(response) == 0);
    CHECK(response.value("accountId", json()) == p.alice.id);
    CHECK(response.value("nickName", json()) == "alice");
    CHECK(
        response.value("sessions", json()) ==
        json::array({{{"sessionId", p.session},
                      {"partnerId", p.bob.id},
                      {"partnerName", "bob"},
                      {"commonInterests", json::array()}}}));
    CHECK(response.value("waiting", json()) == false);

    // The replaced connection is closed with 4001, and that close ends nothing.
    REQUIRE(p.a->wait_closed(5s));
    CHECK(p.a->close_code() == 4001);
    expect_no_push(*p.b, signal("PartnerExit", p.session), "PartnerExit after a RECONNECT", 1500ms);

    // The session continues both ways on the new connection.
    auto after = a2->say(p.session, "after", "a2");
    CHECK(code_of(after) == 0);
    CHECK(after.value("msgId", json()) == 2);
    expect_push(*p.b, push_dialogue(p.session, 2), "PUSH_DIALOGUE from the new connection");
    CHECK(code_of(p.b->say(p.session, "welcome back", "b1")) == 0);
    auto push =
        expect_push(*a2, push_dialogue(p.session, 3), "PUSH_DIALOGUE to the new connection");
    CHECK(push.value("content", json()) == "welcome back");

    // A bound connection cannot RECONNECT again.
    check_error(
        a2->request({{"cmd", "RECONNECT"}, {"accountId", p.alice.id}, {"token", p.alice.token}}),
        "RECONNECT", 10);
    check_services_alive(stack);
}

TEST_CASE("RECONNECT with a wrong token answers 9 and binds nothing", "[e2e][commands]") {
    service_stack stack;
    auto a = stack.connect();
    auto b = stack.connect();
    auto alice = a->create_account("alice");
    auto bob = b->create_account("bob");

    auto flipped = alice.token;
    flipped[0] = flipped[0] == '0' ? '1' : '0';
    auto client = stack.connect();
    check_error(client->reconnect(alice.id, flipped), "RECONNECT", 9);
    check_error(client->reconnect(alice.id, bob.token), "RECONNECT", 9);
    check_error(client->reconnect(alice.id, std::string(64, 'a')), "RECONNECT", 9);
    check_error(client->reconnect(bob.id + 1000, alice.token), "RECONNECT", 9);

    // Still unbound, and alice's own connection was not replaced.
    check_error(client->request({{"cmd", "MATCH"}, {"accountId", alice.id}}), "MATCH", 6);
    CHECK(a->is_open());
    check_connection_works(*a);
    check_services_alive(stack);
}
