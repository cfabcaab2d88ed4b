// Bad input and requests a connection has no right to make: each gets a clear error
// code, the same connection keeps working, the services keep running, and nothing is
// stored or delivered.
#include "tests/e2e/e2e.hpp"
#include "tests/support/raw_ws.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

std::string repeat(const std::string& piece, int times) {
    std::string text;
    for (int i = 0; i < times; ++i) text += piece;
    return text;
}

// A response with a code, whatever its cmd: for input whose cmd the broker may or may
// not get to read.
frame_predicate any_response() {
    return [](const json& f) { return f.is_object() && f.contains("code"); };
}

}  // namespace

TEST_CASE("frames that are not JSON objects with a string cmd get ERROR code 1",
          "[e2e][bad_input]") {
    service_stack stack;
    auto client = stack.connect();
    auto alice = client->create_account("alice");

    const std::vector<std::string> frames = {
        R"({"cmd":)",
        "not json",
        "[1,2,3]",
        R"("MATCH")",
        "42",
        "null",
        "",
        "{}",
        R"({"nickName":"x"})",
        R"({"cmd":5})",
        R"({"cmd":null})",
        R"({"cmd":["MATCH"]})",
        R"({"cmd":"PING"} trailing)",
    };
    for (auto& frame : frames) {
        INFO("frame: " << frame);
        check_error(client->request_text(frame, "ERROR"), "ERROR", 1);
        check_connection_works(*client);
    }

    // Binary frames are answered like malformed JSON, even when they hold a valid command.
    client->send_binary(R"({"cmd":"PING"})");
    check_error(client->wait_response("ERROR", 10s), "ERROR", 1);
    expect_no_push(
        *client, [](const json& f) { return f.value("cmd", json()) == "PONG"; },
        "PONG to a binary PING", 300ms);

    // None of it unbound or changed the account.
    CHECK(client->ping().value("accountId", json()) == alice.id);
    check_services_alive(stack);
}

TEST_CASE("an unknown cmd answers 7 with the same cmd", "[e2e][bad_input]") {
    service_stack stack;
    auto client = stack.connect();
    client->create_account("alice");

    for (std::string cmd : {"FOO", "match", "", "PUSH_DIALOGUE", "ERROR"}) {
        INFO("cmd: '" << cmd << "'");
        check_error(client->request({{"cmd", cmd}, {"accountId", client->account_id()}}), cmd, 7);
        check_connection_works(*client);
    }
    check_services_alive(stack);
}

TEST_CASE("missing, wrongly typed and out-of-range fields answer 1 and store nothing",
          "[e2e][bad_input]") {
    service_stack stack;
    auto p = make_pair(stack);
    const auto me = p.alice.id;
    const auto s = p.session;

    auto dialogue = [&](json changes) {
        json request = {{"cmd", "DIALOGUE"},
                        {"requestId", "bad"},
                        {"senderId", me},
                        {"sessionId", s},
                        {"content", "x"}};
        for (auto& [key, value] : changes.items()) {
            if (value.is_object() && value.contains("$remove")) {
                request.erase(key);
            } else {
                request[key] = value;
            }
        }
        return request;
    };
    const json remove = {{"$remove", true}};

    const std::vector<json> bound_requests = {
        {{"cmd", "MATCH"}},
        {{"cmd", "MATCH"}, {"accountId", std::to_string(me)}},
        {{"cmd", "MATCH"}, {"accountId", 1.5}},
        {{"cmd", "MATCH"}, {"accountId", nullptr}},
        {{"cmd", "MATCH"}, {"accountId", true}},
        {{"cmd", "MATCH"}, {"accountId", 0}},
        {{"cmd", "MATCH"}, {"accountId", -3}},
        dialogue({{"requestId", remove}}),
        dialogue({{"requestId", ""}}),
        dialogue({{"requestId", std::string(65, 'r')}}),
        dialogue({{"requestId", -1}}),
        dialogue({{"requestId", 1.5}}),
        dialogue({{"requestId", json::object()}}),
        dialogue({{"requestId", json::array({1})}}),
        dialogue({{"requestId",
                   "a\x01"
                   "b"}}),
        dialogue({{"requestId", "caf\xc3\xa9"}}),
        dialogue({{"senderId", remove}}),
        dialogue({{"senderId", std::to_string(me)}}),
        dialogue({{"senderId", 0}}),
        dialogue({{"sessionId", remove}}),
        dialogue({{"sessionId", std::to_string(s)}}),
        dialogue({{"sessionId", 0}}),
        dialogue({{"sessionId", -1}}),
        dialogue({{"content", remove}}),
        dialogue({{"content", 5}}),
        dialogue({{"content", nullptr}}),
        dialogue({{"content", ""}}),
        dialogue({{"content", "  \n\t "}}),
        dialogue({{"content", std::string(4097, 'x')}}),
        dialogue({{"content", repeat("\xc3\xa9", 2048) + "x"}}),  // 4097 bytes
        {{"cmd", "VIEWED_ACK"}, {"sessionId", s}, {"accountId", me}},
        {{"cmd", "VIEWED_ACK"}, {"sessionId", s}, {"accountId", me}, {"msgId", "1"}},
        {{"cmd", "VIEWED_ACK"}, {"sessionId", s}, {"accountId", me}, {"msgId", 0}},
        {{"cmd", "VIEWED_ACK"}, {"accountId", me}, {"msgId", 1}},
        {{"cmd", "VIEWED_ACK"}, {"sessionId", s}, {"msgId", 1}},
        {{"cmd", "LOGOUT"}},
        {{"cmd", "LOGOUT"}, {"accountId", "x"}},
    };
    for (auto& request : bound_requests) {
        INFO("request: " << request.dump());
        auto response = p.a->request(request);
        check_error(response, request["cmd"].get<std::string>(), 1);
        // An error to a DIALOGUE with a usable requestId echoes it.
        if (request["cmd"] == "DIALOGUE" && request.value("requestId", json()) == "bad") {
            CHECK(response.value("requestId", json()) == "bad");
        }
    }
    check_connection_works(*p.a);

    // Fields that do not decode as UTF-8 text: a lone surrogate escape in the content.
    p.a->send_text(R"({"cmd":"DIALOGUE","requestId":"u1","senderId":)" + std::to_string(me) +
                   R"(,"sessionId":)" + std::to_string(s) + R"(,"content":"a\ud800b"})");
    auto surrogate = p.a->wait_push(any_response(), 10s);
    REQUIRE(surrogate.has_value());
    INFO("lone surrogate: " << surrogate->dump());
    CHECK(code_of(*surrogate) == 1);
    CHECK((surrogate->value("cmd", json()) == "ERROR" ||
           surrogate->value("cmd", json()) == "DIALOGUE"));
    check_connection_works(*p.a);

    // Nothing above was stored: the next message is msgId 1, and it is all bob gets.
    auto ok = p.a->say(s, "valid", "good-1");
    CHECK(code_of(ok) == 0);
    CHECK(ok.value("msgId", json()) == 1);
    CHECK(expect_push(*p.b, push_dialogue(s), "the valid message").value("content", json()) ==
          "valid");
    expect_no_push(*p.b, any_push(), "a push caused by a refused request");

    // CRT_ACCOUNT and RECONNECT on a connection without an account.
    auto fresh = stack.connect();
    const std::vector<json> unbound_requests = {
        {{"cmd", "CRT_ACCOUNT"}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", 5}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", nullptr}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", ""}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", "   "}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", std::string(33, 'a')}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", repeat("\xe6\x9d\x8e", 33)}},
        {{"cmd", "CRT_ACCOUNT"},
         {"nickName",
          "a\x01"
          "b"}},
        {{"cmd", "CRT_ACCOUNT"}, {"nickName", "line\nbreak"}},
        {{"cmd", "RECONNECT"}, {"accountId", me}},
        {{"cmd", "RECONNECT"}, {"accountId", me}, {"token", 5}},
        {{"cmd", "RECONNECT"}, {"token", p.alice.token}},
        {{"cmd", "RECONNECT"}, {"accountId", std::to_string(me)}, {"token", p.alice.token}},
        {{"cmd", "RECONNECT"}, {"accountId", 0}, {"token", p.alice.token}},
    };
    for (auto& request : unbound_requests) {
        INFO("request: " << request.dump());
        check_error(fresh->request(request), request["cmd"].get<std::string>(), 1);
    }
    // Still unbound, and alice was not replaced by any of the RECONNECTs.
    check_error(fresh->request({{"cmd", "MATCH"}, {"accountId", me}}), "MATCH", 6);
    CHECK(p.a->is_open());
    CHECK(fresh->create_account("zed").id > 0);
    check_services_alive(stack);
}

TEST_CASE("text frames with invalid UTF-8 are refused without harming the broker",
          "[e2e][bad_input]") {
    service_stack stack;
    auto p = make_pair(stack);

    // The same bytes in a binary frame are simply malformed input.
    p.a->send_binary(std::string(R"({"cmd":"DIALOGUE","requestId":"x","senderId":)") +
                     std::to_string(p.alice.id) + R"(,"sessionId":)" + std::to_string(p.session) +
                     ",\"content\":\"\xff\xfe\"}");
    check_error(p.a->wait_response("ERROR", 10s), "ERROR", 1);
    check_connection_works(*p.a);

    // In a text frame, RFC 6455 requires the server to fail the connection (1007); the
    // protocol's code 1 with the connection kept is the friendlier alternative. Either
    // is acceptable, silence or a crash is not.
    auto c = stack.connect();
    c->send_text(std::string(R"({"cmd":"CRT_ACCOUNT","nickName":")") + "\xc3\x28" + "\"}");
    auto response = c->wait_push(any_response(), 5s);
    if (response) {
        INFO("response: " << response->dump());
        CHECK(code_of(*response) == 1);
        check_connection_works(*c);
    } else {
        REQUIRE(c->wait_closed(5s));
        CHECK(c->close_code() == 1007);
    }

    // Nothing was stored, and the others are unaffected.
    CHECK(p.a->say(p.session, "valid", "v1").value("msgId", json()) == 1);
    expect_push(*p.b, push_dialogue(p.session, 1), "the valid message");
    expect_no_push(*p.b, any_push(), "a push caused by invalid input");
    check_services_alive(stack);
}

TEST_CASE("frames above limits.max_frame_bytes answer 11 and are discarded", "[e2e][bad_input]") {
    stack_options options;
    options.max_frame_bytes = 8192;
    service_stack stack(options);
    auto p = make_pair(stack);

    // Valid content, but the frame exceeds this broker's configured limit.
    p.a->send({{"cmd", "DIALOGUE"},
               {"requestId", "big"},
               {"senderId", p.alice.id},
               {"sessionId", p.session},
               {"content", std::string(4000, 'x')},
               {"padding", std::string(6000, 'p')}});
    check_error(p.a->wait_response("ERROR", 10s), "ERROR", 11);
    check_connection_works(*p.a);

    // A frame well past the limit, as a misbehaving client would send.
    p.a->send_text(std::string(R"({"cmd":"PING","padding":")") + std::string(100000, 'p') + "\"}");
    check_error(p.a->wait_response("ERROR", 10s), "ERROR", 11);
    expect_no_push(
        *p.a, [](const json& f) { return f.value("cmd", json()) == "PONG"; },
        "PONG to an oversized PING", 300ms);
    check_connection_works(*p.a);

    // Under the limit, the largest content is fine.
    auto ok = p.a->say(p.session, std::string(4096, 'y'), "ok");
    CHECK(code_of(ok) == 0);
    CHECK(ok.value("msgId", json()) == 1);  // the oversized DIALOGUE stored nothing
    auto push = expect_push(*p.b, push_dialogue(p.session), "the valid message");
    CHECK(push.value("msgId", json()) == 1);
    CHECK(push.value("content", json()) == std::string(4096, 'y'));
    expect_no_push(*p.b, any_push(), "a push caused by an oversized frame");

    // Past the 16 MiB hard cap the broker closes the connection with 1009...
    CHECK(send_oversized_frame(stack.broker_port(), 17 * 1024 * 1024) == 1009);
    // ...and nothing else is affected.
    check_connection_works(*p.a);
    check_connection_works(*p.b);
    auto fresh = stack.connect();
    check_connection_works(*fresh);
    check_services_alive(stack);
}

TEST_CASE("requests naming another account answer 5 and change nothing", "[e2e][bad_input]") {
    service_stack stack;
    auto p = make_pair(stack);
    const auto s = p.session;

    check_error(p.a->request({{"cmd", "MATCH"}, {"accountId", p.bob.id}}), "MATCH", 5);
    auto spoofed = p.a->request({{"cmd", "DIALOGUE"},
                                 {"requestId", "spoof"},
                                 {"senderId", p.bob.id},
                                 {"sessionId", s},
                                 {"content", "spoofed"}});
    check_error(spoofed, "DIALOGUE", 5);
    CHECK(spoofed.value("requestId", json()) == "spoof");
    check_error(
        p.a->request(
            {{"cmd", "VIEWED_ACK"}, {"sessionId", s}, {"accountId", p.bob.id}, {"msgId", 1}}),
        "VIEWED_ACK", 5);
    check_error(p.a->request({{"cmd", "LOGOUT"}, {"accountId", p.bob.id}}), "LOGOUT", 5);
    check_connection_works(*p.a);

    // Bob is still logged in and in the session; the spoofed DIALOGUE took no msgId.
    auto from_bob = p.b->say(s, "still here", "b1");
    CHECK(code_of(from_bob) == 0);
    CHECK(from_bob.value("msgId", json()) == 1);
    expect_push(*p.a, push_dialogue(s, 1), "bob's message");
    auto real = p.a->say(s, "real", "a1");
    CHECK(real.value("msgId", json()) == 2);
    auto push = expect_push(*p.b, push_dialogue(s), "alice's real message");
    CHECK(push.value("msgId", json()) == 2);
    CHECK(push.value("content", json()) == "real");

    // No spoofed read receipt or logout reached alice, and bob got nothing else.
    expect_no_push(*p.a, any_push(), "a push caused by a spoofed request");
    expect_no_push(*p.b, any_push(), "a push caused by a spoofed request", 200ms);
    // Nor was a session opened in bob's name: alice's only candidate is bob, with whom
    // she talks already, so she waits.
    check_error(p.a->match(), "MATCH", 13);
    check_services_alive(stack);
}

TEST_CASE("DIALOGUE and VIEWED_ACK into a session one is not a member of answer 8",
          "[e2e][bad_input]") {
    service_stack stack;
    auto p = make_pair(stack);
    REQUIRE(code_of(p.a->say(p.session, "private", "a1")) == 0);
    expect_push(*p.b, push_dialogue(p.session, 1), "alice's message");

    auto c = stack.connect();
    auto carol = c->create_account("carol");
    auto intrusion = c->request({{"cmd", "DIALOGUE"},
                                 {"requestId", "c1"},
                                 {"senderId", carol.id},
                                 {"sessionId", p.session},
                                 {"content", "let me in"}});
    check_error(intrusion, "DIALOGUE", 8);
    CHECK(intrusion.value("requestId", json()) == "c1");
    check_error(c->request({{"cmd", "VIEWED_ACK"},
                            {"sessionId", p.session},
                            {"accountId", carol.id},
                            {"msgId", 1}}),
                "VIEWED_ACK", 8);
    // Sessions that do not exist at all.
    check_error(c->say(p.session + 1000, "anyone?", "c2"), "DIALOGUE", 8);
    check_error(p.a->say(p.session + 1000, "anyone?", "a2"), "DIALOGUE", 8);
    check_connection_works(*c);

    // The members saw none of it, and the session's numbering is untouched.
    expect_no_push(*p.a, any_push(), "a push caused by an outsider");
    expect_no_push(*p.b, any_push(), "a push caused by an outsider", 200ms);
    CHECK(p.b->say(p.session, "reply", "b1").value("msgId", json()) == 2);
    check_services_alive(stack);
}
