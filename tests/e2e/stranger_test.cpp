// The stranger-chat rules of SPEC.md ("Stranger-chat features") end to end: the real
// services, PostgreSQL and NATS, driven over WebSocket. Each rule has its own test.
// Client addresses: loopback takes any 127.x.y.z source, so 127.0.N.M are different
// people to the broker (bans by address need that).
#include <memory>
#include <set>
#include <thread>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

/// A NewSession push as the client sees it.
struct new_session {
    std::int64_t session = 0;
    std::int64_t partner = 0;
    json common;
};

new_session expect_new_session(ws_client& c, const std::string& what, std::chrono::milliseconds timeout = 10s) {
    const auto push = expect_push(
        c, [](const json& f) { return f.value("cmd", "") == "PUSH_SIGNAL" && f.value("signalType", "") == "NewSession"; },
        what, timeout);
    return {push.value("sessionId", json(0)).get<std::int64_t>(), push["data"].value("accountId", json(0)).get<std::int64_t>(),
            push["data"].value("commonInterests", json())};
}

void expect_no_new_session(ws_client& c, const std::string& what, std::chrono::milliseconds quiet = 1500ms) {
    expect_no_push(
        c, [](const json& f) { return f.value("cmd", "") == "PUSH_SIGNAL" && f.value("signalType", "") == "NewSession"; },
        what, quiet);
}

json match(ws_client& c, const json& interests = nullptr) {
    json frame = {{"cmd", "MATCH"}, {"accountId", c.account_id()}};
    if (!interests.is_null()) frame["interests"] = interests;
    return c.request(frame);
}

json cancel(ws_client& c) { return c.request({{"cmd", "CANCEL_MATCH"}, {"accountId", c.account_id()}}); }
json leave(ws_client& c, std::int64_t s) { return c.request({{"cmd", "LEAVE"}, {"sessionId", s}}); }
json block(ws_client& c, std::int64_t s) { return c.request({{"cmd", "BLOCK"}, {"sessionId", s}}); }
json report(ws_client& c, std::int64_t s, const std::string& reason, const std::string& text = "") {
    json frame = {{"cmd", "REPORT"}, {"sessionId", s}, {"reason", reason}};
    if (!text.empty()) frame["text"] = text;
    return c.request(frame);
}

ws_client::options from(const std::string& address) {
    ws_client::options o;
    o.local_address = address;
    return o;
}

stack_options with(std::vector<std::string> sets, std::string grace = "0s") {
    stack_options o;
    o.sets = std::move(sets);
    o.grace = std::move(grace);
    o.presence_sweep = "200ms";
    return o;
}

std::string count(service_stack& stack, const std::string& sql) { return stack.db().query(sql); }

}  // namespace

TEST_CASE("MATCH with nobody suitable waits (13) and pairs when someone suitable presses MATCH", "[e2e][stranger]") {
    service_stack stack;
    auto a = stack.connect();
    auto b = stack.connect();
    a->create_account("alice");
    auto bob = b->create_account("bob");
    // Bob is online, but alice gave interests he does not share (he gave none).
    const auto waiting = match(*a, json::array({"Chess", "music"}));
    CHECK(code_of(waiting) == 13);
    CHECK(waiting.value("msg", "") != "");
    // Asking again while waiting answers 13 and changes nothing.
    CHECK(code_of(match(*a, json::array({"poker"}))) == 13);

    // Carol shares "chess": she is paired with the waiting alice at once.
    auto c = stack.connect();
    c->create_account("carol");
    const auto matched = match(*c, json::array({" CHESS ", "go"}));
    REQUIRE(code_of(matched) == 0);
    CHECK(matched.value("partnerId", json()) == a->account_id());
    CHECK(matched.value("partnerName", json()) == "alice");
    CHECK(matched.value("commonInterests", json()) == json::array({"chess"}));
    const auto told = expect_new_session(*a, "NewSession to the waiting alice");
    CHECK(told.session == matched.value("sessionId", json(0)).get<std::int64_t>());
    CHECK(told.partner == c->account_id());
    CHECK(told.common == json::array({"chess"}));
    expect_no_new_session(*b, "NewSession to bob, who was not involved", 300ms);
    (void)bob;
}

TEST_CASE("a waiter is paired when someone logs in, both told by NewSession", "[e2e][stranger]") {
    service_stack stack;
    auto a = stack.connect();
    a->create_account("alice");
    CHECK(code_of(match(*a)) == 13);  // alone: not even with herself
    auto b = stack.connect();
    auto bob = b->create_account("bob");
    const auto to_a = expect_new_session(*a, "NewSession to alice");
    const auto to_b = expect_new_session(*b, "NewSession to bob, who only logged in");
    CHECK(to_a.session == to_b.session);
    CHECK(to_a.partner == bob.id);
    CHECK(to_b.partner == a->account_id());
    CHECK(to_a.common == json::array());
    CHECK(count(stack, "SELECT count(*) FROM match_waiters") == "0");
}

TEST_CASE("waiting pauses while away, resumes on RECONNECT, and ends with the grace", "[e2e][stranger]") {
    service_stack stack(with({}, "3s"));
    auto a = stack.connect();
    auto alice = a->create_account("alice");
    CHECK(code_of(match(*a)) == 13);
    a->abort();  // away, still waiting
    REQUIRE(wait_until([&] { return count(stack, "SELECT away_since IS NOT NULL FROM accounts WHERE id = " +
                                                     std::to_string(alice.id)) == "t"; },
                       5s));
    // Someone logging in meanwhile is not given to the waiter who is away.
    auto b = stack.connect();
    auto bob = b->create_account("bob");
    expect_no_new_session(*b, "a NewSession with a waiter who is away");
    // Alice comes back: her waiting resumes and bob, online, is hers.
    auto a2 = stack.connect();
    const auto back = a2->reconnect(alice.id, alice.token);
    REQUIRE(code_of(back) == 0);
    const auto to_a = expect_new_session(*a2, "NewSession to alice, back");
    CHECK(to_a.partner == bob.id);
    expect_new_session(*b, "NewSession to bob");

    // Waiting again, then away past the grace: waiting ends with it.
    REQUIRE(code_of(cancel(*a2)) == 4);  // not waiting: paired
    CHECK(code_of(match(*a2)) == 13);     // bob is taken (open conversation), nobody else
    a2->abort();
    REQUIRE(wait_until([&] { return count(stack, "SELECT count(*) FROM match_waiters") == "0"; }, 10s));
    auto a3 = stack.connect();
    const auto later = a3->reconnect(alice.id, alice.token);
    REQUIRE(code_of(later) == 0);
    CHECK(later.value("waiting", json()) == false);
}

TEST_CASE("RECONNECT says when the account is still waiting", "[e2e][stranger]") {
    service_stack stack(with({}, "30s"));
    auto a = stack.connect();
    auto alice = a->create_account("alice");
    CHECK(code_of(match(*a, json::array({"jazz"}))) == 13);
    a->abort();
    auto a2 = stack.connect();
    const auto back = a2->reconnect(alice.id, alice.token);
    REQUIRE(code_of(back) == 0);
    CHECK(back.value("waiting", json()) == true);
    CHECK(back.value("sessions", json()) == json::array());
}

TEST_CASE("CANCEL_MATCH stops waiting, and answers 4 when not waiting", "[e2e][stranger]") {
    service_stack stack;
    auto a = stack.connect();
    a->create_account("alice");
    CHECK(code_of(match(*a)) == 13);
    const auto cancelled = cancel(*a);
    CHECK(cancelled == json{{"cmd", "CANCEL_MATCH"}, {"code", 0}});
    check_error(cancel(*a), "CANCEL_MATCH", 4);
    auto b = stack.connect();
    b->create_account("bob");
    expect_no_new_session(*a, "a NewSession after CANCEL_MATCH");
    // Only for oneself.
    check_error(a->request({{"cmd", "CANCEL_MATCH"}, {"accountId", b->account_id()}}), "CANCEL_MATCH", 5);
}

TEST_CASE("longest waiting first among those who share an interest", "[e2e][stranger]") {
    service_stack stack;
    std::vector<std::unique_ptr<ws_client>> c;
    for (int i = 0; i < 4; ++i) {
        c.push_back(stack.connect());
        c.back()->create_account("p" + std::to_string(i));
    }
    CHECK(code_of(match(*c[0], json::array({"music"}))) == 13);
    std::this_thread::sleep_for(50ms);
    CHECK(code_of(match(*c[1], json::array({"chess"}))) == 13);
    const auto first = match(*c[2], json::array({"chess", "music"}));
    REQUIRE(code_of(first) == 0);
    CHECK(first.value("partnerId", json()) == c[0]->account_id());
    CHECK(first.value("commonInterests", json()) == json::array({"music"}));
    const auto second = match(*c[3], json::array({"music", "chess"}));
    REQUIRE(code_of(second) == 0);
    CHECK(second.value("partnerId", json()) == c[1]->account_id());
    CHECK(second.value("commonInterests", json()) == json::array({"chess"}));
}

TEST_CASE("with interests and nobody sharing one, anyone after matching.interest_wait", "[e2e][stranger]") {
    service_stack stack(with({"logic:matching.interest_wait=1s"}));
    auto a = stack.connect();
    auto b = stack.connect();
    a->create_account("alice");
    auto bob = b->create_account("bob");
    CHECK(code_of(match(*a, json::array({"basket weaving"}))) == 13);
    expect_no_new_session(*a, "a match before the interest wait ran out", 600ms);
    const auto to_a = expect_new_session(*a, "NewSession once the interest wait ran out", 6s);
    CHECK(to_a.partner == bob.id);
    CHECK(to_a.common == json::array());
    expect_new_session(*b, "NewSession to bob, who did not ask");
}

TEST_CASE("never someone you talk to, nor within matching.repeat_window after", "[e2e][stranger]") {
    service_stack stack(with({"logic:matching.repeat_window=2s"}));
    auto p = make_pair(stack);
    CHECK(code_of(p.a->match()) == 13);  // bob is the only one, and they already talk
    REQUIRE(code_of(cancel(*p.a)) == 0);
    REQUIRE(code_of(leave(*p.a, p.session)) == 0);
    expect_push(*p.b, signal("PartnerExit", p.session), "PartnerExit after LEAVE");
    CHECK(code_of(p.a->match()) == 13);  // talked a moment ago
    // Once the window is over the waiter's next try pairs them again.
    const auto again = expect_new_session(*p.a, "a new session after the repeat window", 8s);
    CHECK(again.partner == p.bob.id);
    CHECK(again.session != p.session);
}

TEST_CASE("BLOCK ends the conversation and the two never meet again", "[e2e][stranger]") {
    service_stack stack(with({"logic:matching.repeat_window=0s"}));
    auto p = make_pair(stack);
    const auto blocked = block(*p.b, p.session);
    CHECK(blocked == json{{"cmd", "BLOCK"}, {"sessionId", p.session}, {"code", 0}});
    expect_push(*p.a, signal("PartnerExit", p.session), "PartnerExit after BLOCK");
    check_error(p.a->say(p.session, "still there?", "a1"), "DIALOGUE", 8);
    // Neither may have the other, whoever asks: both wait side by side.
    CHECK(code_of(p.a->match()) == 13);
    CHECK(code_of(p.b->match()) == 13);
    expect_no_new_session(*p.a, "a NewSession with the person who blocked");
    // Someone outside the session can neither block nor report it.
    auto c = stack.connect();
    c->create_account("carol");
    check_error(block(*c, p.session), "BLOCK", 8);
    check_error(report(*c, p.session, "spam"), "REPORT", 8);
}

TEST_CASE("at matching.max_conversations MATCH answers 15 and nobody picks you", "[e2e][stranger]") {
    service_stack stack(with({"logic:matching.max_conversations=2"}));
    std::vector<std::unique_ptr<ws_client>> c;
    for (int i = 0; i < 4; ++i) {
        c.push_back(stack.connect());
        c.back()->create_account("p" + std::to_string(i));
    }
    REQUIRE(code_of(match(*c[0])) == 0);
    REQUIRE(code_of(match(*c[0])) == 0);
    const auto capped = match(*c[0]);
    check_error(capped, "MATCH", 15);
    // p0 is at the cap: whoever else asks is never given p0.
    for (int i = 1; i < 4; ++i) {
        const auto m = match(*c[i]);
        if (code_of(m) == 0) CHECK(m.value("partnerId", json()) != c[0]->account_id());
    }
    CHECK(count(stack, "SELECT count(*) FROM session_members m JOIN sessions s ON s.id = m.session_id "
                       "WHERE s.ended_at IS NULL AND m.account_id = " + std::to_string(c[0]->account_id())) == "2");
}

TEST_CASE("LEAVE ends one conversation: the partner gets PartnerExit, and 8 when not a member or ended", "[e2e][stranger]") {
    service_stack stack;
    auto p = make_pair(stack);
    auto c = stack.connect();
    c->create_account("carol");
    check_error(leave(*c, p.session), "LEAVE", 8);
    const auto left = leave(*p.a, p.session);
    CHECK(left == json{{"cmd", "LEAVE"}, {"sessionId", p.session}, {"code", 0}});
    const auto exit = expect_push(*p.b, signal("PartnerExit", p.session), "PartnerExit after LEAVE");
    CHECK(exit["data"].value("accountId", json()) == p.alice.id);
    check_error(leave(*p.a, p.session), "LEAVE", 8);
    check_error(leave(*p.b, p.session), "LEAVE", 8);
    check_error(p.b->say(p.session, "hello?", "b1"), "DIALOGUE", 8);
    // Other conversations go on: "Next" is LEAVE then MATCH, and carol is next.
    const auto next = p.a->match();
    REQUIRE(code_of(next) == 0);
    CHECK(next.value("partnerId", json()) == c->account_id());
    // Before login, and malformed.
    auto d = stack.connect();
    check_error(leave(*d, p.session), "LEAVE", 6);
    check_error(d->request({{"cmd", "LEAVE"}, {"sessionId", "x"}}), "LEAVE", 1);
    check_services_alive(stack);
}

TEST_CASE("REPORT stores the report and bans account and address after three different accounts",
          "[e2e][stranger]") {
    service_stack stack;
    auto troll = stack.connect(0, from("127.0.2.1"));
    const auto troll_account = troll->create_account("troll");
    // Each reporter, from an address of their own, meets the troll through a shared interest.
    std::vector<std::unique_ptr<ws_client>> reporters;
    std::vector<std::int64_t> sessions;
    for (int i = 1; i <= 3; ++i) {
        REQUIRE(code_of(match(*troll, json::array({"trolling"}))) == 13);
        reporters.push_back(stack.connect(0, from("127.0.3." + std::to_string(i))));
        reporters.back()->create_account("r" + std::to_string(i));
        const auto m = match(*reporters.back(), json::array({"trolling"}));
        REQUIRE(code_of(m) == 0);
        REQUIRE(m.value("partnerId", json()) == troll_account.id);
        sessions.push_back(m["sessionId"].get<std::int64_t>());
        expect_new_session(*troll, "NewSession to the troll");
        REQUIRE(code_of(troll->say(sessions.back(), "you are stupid", "t" + std::to_string(i))) == 0);
        if (i == 1) {
            check_error(report(*reporters[0], sessions[0], "rude"), "REPORT", 1);
            check_error(report(*reporters[0], sessions[0], "spam", std::string(501, 'x')), "REPORT", 1);
            const auto r = report(*reporters[0], sessions[0], "harassment", "insults");
            CHECK(r == json{{"cmd", "REPORT"}, {"sessionId", sessions[0]}, {"code", 0}});
            expect_push(*troll, signal("PartnerExit", sessions[0]), "PartnerExit after REPORT");
            // Reporting again counts once.
            CHECK(code_of(report(*reporters[0], sessions[0], "spam")) == 0);
            CHECK(count(stack, "SELECT count(*) FROM reports") == "1");
            CHECK(count(stack, "SELECT reason, text, reporter_address, reported_address, "
                               "messages->0->>'content' FROM reports") ==
                  "harassment|insults|127.0.3.1|127.0.2.1|you are stupid");
        } else {
            CHECK(code_of(report(*reporters.back(), sessions.back(), "hate")) == 0);
        }
    }
    // Three different accounts: banned from matching, with the time it ends.
    const auto banned = match(*troll);
    check_error(banned, "MATCH", 14);
    const auto until = banned.value("until", "");
    CHECK(until.size() == 20);
    CHECK(until.back() == 'Z');
    // A new account from the same address fares the same.
    auto again = stack.connect(0, from("127.0.2.1"));
    again->create_account("troll2");
    check_error(match(*again), "MATCH", 14);
    // Someone else is not affected, and is never given the banned ones.
    auto other = stack.connect(0, from("127.0.4.1"));
    other->create_account("other");
    const auto m = match(*other);
    if (code_of(m) == 0) {
        CHECK(m.value("partnerId", json()) != troll_account.id);
        CHECK(m.value("partnerId", json()) != again->account_id());
    }
}

TEST_CASE("reports from accounts made in the same minute at the reported person's address do not ban",
          "[e2e][stranger]") {
    service_stack stack;
    auto target = stack.connect(0, from("127.0.5.1"));
    const auto target_account = target->create_account("target");
    for (int i = 1; i <= 3; ++i) {
        REQUIRE(code_of(match(*target, json::array({"x"}))) == 13);
        auto sock = stack.connect(0, from("127.0.5.1"));
        sock->create_account("sock" + std::to_string(i));
        const auto m = match(*sock, json::array({"x"}));
        REQUIRE(m.value("partnerId", json()) == target_account.id);
        expect_new_session(*target, "NewSession to the target");
        CHECK(code_of(report(*sock, m["sessionId"].get<std::int64_t>(), "spam")) == 0);
    }
    CHECK(count(stack, "SELECT count(*) FROM reports") == "3");
    CHECK(code_of(match(*target)) == 13);  // not banned
}

TEST_CASE("many MATCHes at once through two logic processes pair each person once", "[e2e][stranger]") {
    stack_options o = two_of_everything();
    service_stack stack(o);
    constexpr int k_people = 16;
    std::vector<std::unique_ptr<ws_client>> c;
    for (int i = 0; i < k_people; ++i) {
        c.push_back(stack.connect(static_cast<std::size_t>(i % 2)));
        c.back()->create_account("p" + std::to_string(i));
    }
    // Everyone shares "x", so nobody is picked at random: each takes a waiter or waits.
    for (auto& client : c) client->send({{"cmd", "MATCH"}, {"accountId", client->account_id()}, {"interests", {"x"}}});
    std::map<std::int64_t, std::set<std::int64_t>> sessions_of;  // account -> sessions
    for (auto& client : c) {
        const auto r = client->wait_response("MATCH", 20s);
        if (code_of(r) == 0) sessions_of[client->account_id()].insert(r["sessionId"].get<std::int64_t>());
        else REQUIRE(code_of(r) == 13);
    }
    for (auto& client : c)
        while (auto push = client->wait_push(
                   [](const json& f) { return f.value("signalType", "") == "NewSession"; }, 1500ms))
            sessions_of[client->account_id()].insert((*push)["sessionId"].get<std::int64_t>());
    CHECK(count(stack, "SELECT count(*) FROM match_waiters") == "0");
    CHECK(count(stack, "SELECT count(*) FROM sessions") == std::to_string(k_people / 2));
    for (auto& client : c) CHECK(sessions_of[client->account_id()].size() == 1);
}
