// TYPING: relayed from the sender's broker straight to the partner's over NATS
// (chat.typing.<account>), never through logic or PostgreSQL; only to the partner, only
// for the sender's own sessions, throttled per conversation. And the broker's refusals of
// the stranger-chat commands it can judge alone (not logged in, another account,
// malformed).
#include <thread>

#include "shared/bus/subjects.hpp"
#include "shared/proto/chat.pb.h"
#include "tests/e2e/e2e.hpp"
#include "tests/integration/nats_probe.hpp"
#include "tests/support/postgres.hpp"

using namespace chat::test;
using namespace chat::test::e2e;
namespace subjects = chat::bus::subjects;

namespace {

frame_predicate push_typing(std::int64_t session_id) {
    return [session_id](const json& f) {
        return f.value("cmd", json()) == "PUSH_TYPING" && f.value("sessionId", json()) == session_id;
    };
}

json typing(std::int64_t session_id, bool on) { return {{"cmd", "TYPING"}, {"sessionId", session_id}, {"typing", on}}; }

void check_push_typing(const json& push, std::int64_t session, std::int64_t sender, bool on) {
    INFO("push: " << push.dump());
    CHECK(push == json{{"cmd", "PUSH_TYPING"}, {"sessionId", session}, {"accountId", sender}, {"typing", on}});
}

/// Sends TYPING and expects the partner to be told.
void check_relayed(ws_client& from, ws_client& to, std::int64_t session, bool on) {
    from.send(typing(session, on));
    check_push_typing(expect_push(to, push_typing(session), "PUSH_TYPING"), session, from.account_id(), on);
}

/// The error response to a TYPING: cmd, sessionId, code and a msg.
void check_typing_refused(ws_client& client, std::int64_t session, int code) {
    const auto response = client.request(typing(session, true));
    check_error(response, "TYPING", code);
    CHECK(response.value("sessionId", json()) == session);
}

/// How late PostgreSQL 15's statistics may be: a backend flushes its counts when it goes
/// idle, or, when it flushed less than a second before, up to 10 s later (PGSTAT_IDLE_INTERVAL).
constexpr auto k_stats_lag = 11s;

/// Committed and rolled-back transactions of the stack's database so far, as PostgreSQL's
/// statistics say (asked from another database, so that asking adds none to it).
std::int64_t transactions(service_stack& stack) {
    const auto out = postgres_server::shared().psql(
        "SELECT pg_stat_clear_snapshot(); SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '" +
        stack.db().name() + "'");
    const auto last = out.find_last_not_of("\n");
    const auto start = out.find_last_of('\n', last);
    return std::stoll(out.substr(start == std::string::npos ? 0 : start + 1, last + 1));
}

/// A proto::Typing as a broker would publish it.
std::string typing_payload(std::int64_t sender, std::int64_t receiver, std::int64_t session, bool on) {
    chat::proto::Typing t;
    t.set_sender_id(sender);
    t.set_receiver_id(receiver);
    t.set_session_id(session);
    t.set_typing(on);
    return t.SerializeAsString();
}

}  // namespace

TEST_CASE("TYPING reaches the partner as PUSH_TYPING, nobody else, and only in one's own sessions",
          "[e2e][typing]") {
    service_stack stack;
    auto p = make_pair(stack);  // alice learned the session from MATCH, bob from NewSession
    auto c = stack.connect();
    c->create_account("carol");

    check_relayed(*p.a, *p.b, p.session, true);
    check_relayed(*p.a, *p.b, p.session, false);
    check_relayed(*p.b, *p.a, p.session, true);
    check_relayed(*p.b, *p.a, p.session, false);
    expect_no_push(*c, push_typing(p.session), "PUSH_TYPING to carol, who is not in the session");
    expect_no_push(*p.a, push_typing(p.session), "an echo of alice's own TYPING");

    // Not hers: carol's TYPING into their session, or into one that does not exist.
    check_typing_refused(*c, p.session, 8);
    check_typing_refused(*p.a, 999999, 8);
    expect_no_push(*p.b, push_typing(p.session), "a PUSH_TYPING caused by carol");

    // Before login: 6; malformed: 1. The connections stay.
    auto anonymous = stack.connect();
    check_typing_refused(*anonymous, p.session, 6);
    check_error(p.a->request({{"cmd", "TYPING"}, {"sessionId", p.session}, {"typing", "yes"}}), "TYPING", 1);
    check_error(p.a->request({{"cmd", "TYPING"}, {"typing", true}}), "TYPING", 1);
    check_error(p.a->request({{"cmd", "TYPING"}, {"sessionId", -3}, {"typing", true}}), "TYPING", 1);
    check_connection_works(*anonymous);
    check_connection_works(*p.a);

    // Bob logs out: alice hears PartnerExit and the session is over for TYPING too.
    REQUIRE(code_of(p.b->logout()) == 0);
    expect_push(*p.a, signal("PartnerExit", p.session), "PartnerExit to alice");
    check_typing_refused(*p.a, p.session, 8);
    check_typing_refused(*p.b, p.session, 6);
    check_services_alive(stack);
}

TEST_CASE("TYPING crosses brokers, and follows a RECONNECT to its new connection", "[e2e][typing]") {
    stack_options options;
    options.brokers = 2;
    service_stack stack(options);
    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2
    check_relayed(*p.a, *p.b, p.session, true);
    check_relayed(*p.b, *p.a, p.session, true);

    // Alice moves to b2 (her old connection is replaced): the new connection learns the
    // session from the RECONNECT reply, and b2 now hears TYPING for her; b1 no longer.
    auto moved = stack.connect(1);
    const auto back = moved->reconnect(p.alice.id, p.alice.token);
    INFO("RECONNECT: " << back.dump());
    REQUIRE(code_of(back) == 0);
    REQUIRE(p.a->wait_closed(10s));
    check_relayed(*moved, *p.b, p.session, false);
    check_relayed(*p.b, *moved, p.session, false);

    // And back to b1 while bob also comes over to b1: both on one broker again.
    auto a_again = stack.connect(0);
    REQUIRE(code_of(a_again->reconnect(p.alice.id, p.alice.token)) == 0);
    auto b_again = stack.connect(0);
    REQUIRE(code_of(b_again->reconnect(p.bob.id, p.bob.token)) == 0);
    check_relayed(*a_again, *b_again, p.session, true);
    check_relayed(*b_again, *a_again, p.session, true);
    check_services_alive(stack);
}

TEST_CASE("a forged TYPING on the bus is shown only if its sender is the receiver's partner in that session",
          "[e2e][typing]") {
    service_stack stack;
    auto p = make_pair(stack);
    auto c = stack.connect();
    auto carol = c->create_account("carol");
    nats_probe bus(stack.nats().url(), {});
    REQUIRE(bus.connected());

    const auto to_bob = subjects::typing_to(p.bob.id);
    bus.publish(to_bob, typing_payload(carol.id, p.bob.id, p.session, true));       // not his partner
    bus.publish(to_bob, typing_payload(p.alice.id, p.bob.id, p.session + 1, true));  // not that session
    bus.publish(to_bob, typing_payload(p.alice.id, carol.id, p.session, true));      // names another receiver
    bus.publish(subjects::typing_to(carol.id), typing_payload(p.alice.id, carol.id, p.session, true));
    bus.publish(to_bob, "not a protobuf \xff\xff");
    bus.flush();
    expect_no_push(*p.b, push_typing(p.session), "a forged PUSH_TYPING");
    expect_no_push(*c, any_push(), "a forged PUSH_TYPING to carol");

    // What the partner's broker would publish is shown: the check is on who, not how.
    bus.publish(to_bob, typing_payload(p.alice.id, p.bob.id, p.session, true));
    bus.flush();
    check_push_typing(expect_push(*p.b, push_typing(p.session), "PUSH_TYPING"), p.session, p.alice.id, true);
    check_services_alive(stack);
}

TEST_CASE("a TYPING flood: repeats dropped, at most 4 relayed per second, the rest refused with 12, and no "
          "command and no PostgreSQL work for any of it",
          "[e2e][typing]") {
    service_stack stack;
    auto p = make_pair(stack);
    nats_probe bus(stack.nats().url(), {});
    REQUIRE(bus.connected());
    const auto commands = bus.subscribe(std::string(subjects::k_all_commands));
    bus.flush();

    // A repeat of the state just relayed is dropped without an answer.
    check_relayed(*p.a, *p.b, p.session, true);
    p.a->send(typing(p.session, true));
    expect_no_push(*p.b, push_typing(p.session), "a repeated PUSH_TYPING");
    CHECK(p.a->take_all([](const json& f) { return f.value("cmd", json()) == "TYPING"; }).empty());
    std::this_thread::sleep_for(1100ms);  // a fresh window for the flood

    constexpr int k_frames = 400;
    constexpr auto k_window = 4s;
    const auto spacing = std::chrono::duration_cast<std::chrono::microseconds>(k_window) / k_frames;

    // Both windows start once the statistics of what came before (the accounts, the
    // match) are in, and last k_window and the statistics' lag after it, so each counts
    // its own transactions and only those.
    std::this_thread::sleep_for(k_stats_lag);
    // The quiet window: what the services do on their own (sweeps, heartbeats).
    const int commands_before_quiet = bus.received(commands);
    const auto quiet_start = transactions(stack);
    std::this_thread::sleep_for(k_window + k_stats_lag);
    const auto quiet = transactions(stack) - quiet_start;

    // The same with a TYPING every 10 ms, alternating so that half are no repeat.
    const int commands_before = bus.received(commands);
    const auto busy_start = transactions(stack);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < k_frames; ++i) {
        p.a->send(typing(p.session, i % 2 == 0));
        std::this_thread::sleep_until(started + spacing * (i + 1));
    }
    const auto sent_in = std::chrono::steady_clock::now() - started;
    std::this_thread::sleep_until(started + k_window + k_stats_lag);
    const auto busy = transactions(stack) - busy_start;

    // Each frame was relayed, refused with 12, or dropped silently as a repeat: the same
    // state as the last relayed, under 1 s after it (half the flood, alternating as it does).
    p.a->ping();  // a's answers come in order: all are in once the PONG is
    const auto refused = p.a->take_all([](const json& f) { return f.value("cmd", json()) == "TYPING"; });
    const auto relayed = p.b->take_all(push_typing(p.session));
    for (const auto& f : refused) {
        INFO(f.dump());
        CHECK(code_of(f) == 12);
        CHECK(f.value("sessionId", json()) == p.session);
    }
    for (const auto& f : relayed) CHECK(f.value("accountId", json()) == p.alice.id);
    const auto seconds = std::chrono::duration<double>(sent_in).count();
    INFO("relayed " << relayed.size() << ", refused " << refused.size() << " in " << seconds << " s");
    CHECK(refused.size() + relayed.size() <= static_cast<std::size_t>(k_frames));
    CHECK(refused.size() + relayed.size() >= static_cast<std::size_t>(k_frames) / 3);
    CHECK(relayed.size() >= 4);
    CHECK(static_cast<double>(relayed.size()) <= 4 * (seconds + 1));

    // Not one command reached the bus, and PostgreSQL did about as much as when idle.
    WARN("relayed " << relayed.size() << ", refused " << refused.size() << " of " << k_frames << " in " << seconds
                    << " s; transactions: " << quiet << " in the quiet window, " << busy << " in the flood's");
    CHECK(bus.received(commands) == commands_before);
    CHECK(commands_before == commands_before_quiet);
    CHECK(busy - quiet < k_frames / 10);

    // The probe does hear commands: a DIALOGUE is one.
    REQUIRE(code_of(p.a->say(p.session, "done typing", "a-1")) == 0);
    CHECK(wait_until([&] { return bus.received(commands) > commands_before; }, 5s));
    check_services_alive(stack);
}

TEST_CASE("the broker refuses the stranger-chat commands before login (6), for another account (5) and "
          "malformed (1), and keeps the connection",
          "[e2e][typing][bad_input]") {
    service_stack stack;
    auto anonymous = stack.connect();
    for (const auto& cmd : {"LEAVE", "BLOCK"}) {
        const auto response = anonymous->request({{"cmd", cmd}, {"sessionId", 5}});
        check_error(response, cmd, 6);
        CHECK(response.value("sessionId", json()) == 5);
    }
    const auto report = anonymous->request({{"cmd", "REPORT"}, {"sessionId", 5}, {"reason", "spam"}});
    check_error(report, "REPORT", 6);
    CHECK(report.value("sessionId", json()) == 5);
    check_typing_refused(*anonymous, 5, 6);
    check_error(anonymous->request({{"cmd", "CANCEL_MATCH"}, {"accountId", 1}}), "CANCEL_MATCH", 6);
    check_error(anonymous->request({{"cmd", "MATCH"}, {"accountId", 1}, {"interests", {"music"}}}), "MATCH", 6);
    check_connection_works(*anonymous);

    auto a = stack.connect();
    const auto alice = a->create_account("alice");
    check_error(a->request({{"cmd", "MATCH"}, {"accountId", alice.id + 1}, {"interests", {"chess"}}}), "MATCH", 5);
    check_error(a->request({{"cmd", "CANCEL_MATCH"}, {"accountId", alice.id + 1}}), "CANCEL_MATCH", 5);

    // Malformed: each answered with 1 under its own cmd.
    const std::vector<std::pair<std::string, json>> malformed{
        {"MATCH", {{"cmd", "MATCH"}, {"accountId", alice.id}, {"interests", "music"}}},
        {"MATCH", {{"cmd", "MATCH"}, {"accountId", alice.id}, {"interests", {1, 2}}}},
        {"MATCH", {{"cmd", "MATCH"}, {"accountId", alice.id}, {"interests", {"a", "b", "c", "d", "e", "f"}}}},
        {"MATCH", {{"cmd", "MATCH"}, {"accountId", alice.id}, {"interests", {std::string(25, 'x')}}}},
        {"CANCEL_MATCH", {{"cmd", "CANCEL_MATCH"}}},
        {"CANCEL_MATCH", {{"cmd", "CANCEL_MATCH"}, {"accountId", "me"}}},
        {"LEAVE", {{"cmd", "LEAVE"}}},
        {"LEAVE", {{"cmd", "LEAVE"}, {"sessionId", 0}}},
        {"BLOCK", {{"cmd", "BLOCK"}, {"sessionId", "5"}}},
        {"REPORT", {{"cmd", "REPORT"}, {"sessionId", 5}}},
        {"REPORT", {{"cmd", "REPORT"}, {"sessionId", 5}, {"reason", "boring"}}},
        {"REPORT", {{"cmd", "REPORT"}, {"sessionId", 5}, {"reason", "spam"}, {"text", std::string(501, 'x')}}},
        {"TYPING", {{"cmd", "TYPING"}, {"sessionId", 5}}},
        {"TYPING", {{"cmd", "TYPING"}, {"sessionId", 5}, {"typing", 1}}},
    };
    for (const auto& [cmd, frame] : malformed) {
        INFO("frame: " << frame.dump());
        check_error(a->request(frame), cmd, 1);
    }
    check_connection_works(*a);
    check_connection_works(*anonymous);
    check_services_alive(stack);
}
