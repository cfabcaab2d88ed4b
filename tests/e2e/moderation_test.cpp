// Moderation end to end (docs/operations.md, "Moderation"): a REPORT made over the
// WebSocket reaches logic's admin listener with the conversation, a moderator's ban
// there keeps the person from matching until it is lifted, and none of it is on the
// broker's public port.
#include "deploy/stack/net.hpp"
#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

// One admin request; the answer's status and JSON body.
struct admin_answer {
    int status = 0;
    json body;
};

admin_answer admin(service_stack& stack, const std::string& method, const std::string& target,
                   const std::string& body = "", const std::string& token = "(the token)") {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + (token == "(the token)" ? stack.moderation_token() : token));
    const auto answer = chat::stack::http_request(stack.moderation_port(), method, target, headers, body);
    REQUIRE(answer);
    INFO(method << " " << target << " answered " << answer->status << ": " << answer->body);
    return {answer->status, json::parse(answer->body)};
}

ws_client::options from(const std::string& address) {
    ws_client::options o;
    o.local_address = address;
    return o;
}

json match(ws_client& c) { return c.request({{"cmd", "MATCH"}, {"accountId", c.account_id()}}); }

}  // namespace

TEST_CASE("a moderator reads a report with its conversation, bans the reported person, and lifts the ban",
          "[e2e][moderation]") {
    service_stack stack;
    auto a = stack.connect(0, from("127.0.5.1"));
    auto b = stack.connect(0, from("127.0.5.2"));
    a->create_account("alice");
    const auto bob = b->create_account("bob");
    const auto session = match_expecting(*a, *b);
    int said = 0;
    auto say = [&](ws_client& c, const std::string& text) {
        const auto request_id = "m" + std::to_string(++said);
        c.send({{"cmd", "DIALOGUE"}, {"requestId", request_id}, {"senderId", c.account_id()}, {"sessionId", session},
                {"content", text}});
        const auto r = c.wait_response("DIALOGUE", 10s, json(request_id));
        INFO(r.dump());
        REQUIRE(code_of(r) == 0);
    };
    say(*b, "you are awful");
    say(*a, "please stop");
    const auto reported = a->request({{"cmd", "REPORT"}, {"sessionId", session}, {"reason", "harassment"},
                                      {"text", "insults"}});
    REQUIRE(code_of(reported) == 0);

    // Without the token, or with another, nothing is shown.
    CHECK(admin(stack, "GET", "/api/reports", "", "").status == 401);
    CHECK(admin(stack, "GET", "/api/reports", "", std::string(48, '0')).status == 401);

    const auto stats = admin(stack, "GET", "/api/stats");
    REQUIRE(stats.status == 200);
    CHECK(stats.body["online"] == 2);
    REQUIRE(stats.body["brokers"].size() == 1);
    CHECK(stats.body["brokers"][0]["brokerId"] == stack.broker_id());

    const auto open = admin(stack, "GET", "/api/reports");
    REQUIRE(open.status == 200);
    REQUIRE(open.body["reports"].size() == 1);
    const auto report = open.body["reports"][0];
    CHECK(report["reason"] == "harassment");
    CHECK(report["text"] == "insults");
    CHECK(report["reporter"]["nickName"] == "alice");
    CHECK(report["reporter"]["address"] == "127.0.5.1");
    CHECK(report["reported"]["accountId"] == bob.id);
    CHECK(report["reported"]["address"] == "127.0.5.2");
    REQUIRE(report["messages"].size() == 2);
    CHECK(report["messages"][0]["content"] == "you are awful");
    CHECK(report["messages"][0]["senderId"] == bob.id);
    CHECK(report["messages"][1]["content"] == "please stop");

    // Bad input changes nothing.
    CHECK(admin(stack, "POST", "/api/bans", R"({"accountId":)" + std::to_string(bob.id) + "}").status == 400);
    CHECK(admin(stack, "POST", "/api/bans", "{nonsense").status == 400);
    CHECK(admin(stack, "GET", "/api/bans").body["bans"].empty());

    const auto ban = admin(stack, "POST", "/api/bans",
                           json{{"accountId", bob.id}, {"duration", 3600}, {"reason", "report: harassment"}}.dump());
    REQUIRE(ban.status == 201);
    const auto resolved = admin(stack, "POST", "/api/reports/" + std::to_string(report["id"].get<long long>()) + "/resolve",
                                R"({"resolution":"banned"})");
    CHECK(resolved.status == 200);
    CHECK(admin(stack, "GET", "/api/reports").body["reports"].empty());
    CHECK(admin(stack, "GET", "/api/reports?state=resolved").body["reports"].size() == 1);

    const auto refused = match(*b);
    CHECK(code_of(refused) == 14);
    CHECK(refused.value("until", "").size() == 20);  // 2026-12-08T01:00:00Z

    const auto lifted = admin(stack, "POST", "/api/bans/" + std::to_string(ban.body["ban"]["id"].get<long long>()) + "/lift");
    CHECK(lifted.status == 200);
    CHECK(admin(stack, "GET", "/api/bans").body["bans"].empty());
    CHECK(code_of(match(*b)) == 13);  // may match again: waits, as alice blocked him
}

TEST_CASE("the broker's public port has neither the moderation API nor its page", "[e2e][moderation]") {
    service_stack stack;
    for (const char* target : {"/api/stats", "/api/reports", "/moderation.html"}) {
        INFO(target);
        const auto answer = chat::stack::http_get(stack.broker_port(), target);
        REQUIRE(answer);
        CHECK(answer->status == 404);
    }
    // The admin listener serves the page (the built client), and the API with the token.
    const auto page = chat::stack::http_get(stack.moderation_port(), "/moderation");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("<div id=\"app\"") != std::string::npos);
    CHECK(admin(stack, "GET", "/api/stats").status == 200);
}
