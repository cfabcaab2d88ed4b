// The pairing rules, the waiting pool and moderation as PostgreSQL enforces them
// (migrations/0006_stranger_chat.sql through logic's store), one rule at a time, then
// under concurrency from many connections at once.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "shared/util/token.hpp"
#include "tests/integration/pg_fixture.hpp"

using namespace chat;
using namespace std::chrono_literals;
using chat::logic::match_policy;
using chat::logic::partition_set;
using chat::wire::code;

namespace {

std::int64_t online(logic::store& s, const std::string& nick, const std::string& address = "") {
    static std::atomic<int> next_conn{1};
    return s.create_account(nick, util::sha256_hex("t"), {"b1", "e1/" + std::to_string(next_conn++), address});
}

std::string id(std::int64_t v) { return std::to_string(v); }

// NewSession rows waiting for `receiver` about `peer`.
long long new_sessions(const test::pg_fixture& pg, std::int64_t receiver, std::int64_t peer) {
    return pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('new_session') AND receiver_id = " +
                    id(receiver) + " AND peer_id = " + id(peer));
}

long long waiting(const test::pg_fixture& pg) { return pg.count("SELECT count(*) FROM match_waiters"); }

// `n` accounts online, made through a store with policy `p`.
std::vector<std::int64_t> online_accounts(const test::pg_fixture& pg, const match_policy& p, int n) {
    auto s = pg.make_store(p);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(online(*s, "n" + std::to_string(i)));
    return ids;
}

using match_group = std::vector<logic::match_request>;

// `threads` threads at once, each with a store (connection) of its own, each sending the
// groups `groups_of(thread)` returns to match_many one after another, as logic's workers
// do. Returns how many match_many calls threw.
int match_from_threads(const test::pg_fixture& pg, const match_policy& p, std::size_t threads,
                       const std::function<std::vector<match_group>(std::size_t)>& groups_of) {
    std::atomic<int> errors{0};
    std::vector<std::thread> running;
    for (std::size_t t = 0; t < threads; ++t)
        running.emplace_back([&, t] {
            auto s = pg.make_store(p);
            partition_set woken;
            for (const auto& group : groups_of(t)) {
                try {
                    s->match_many(group, woken);
                } catch (const std::exception&) {
                    ++errors;
                }
            }
        });
    for (auto& t : running) t.join();
    return errors;
}

match_policy quick_policy() {
    match_policy p;
    p.interest_wait = 300ms;
    p.repeat_window = 300ms;
    p.retry_after = 50ms;
    return p;
}

}  // namespace

TEST_CASE("rules: nobody suitable means waiting, and someone coming online is matched with the waiter") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online(*s, "alice");

    const auto alone = s->match({a, {}}, woken);
    CHECK(alone.code == code::waiting);
    CHECK_FALSE(alone.msg.empty());
    CHECK(waiting(pg) == 1);

    // bob logs in: alice, who takes anyone, has him at once; both hear of it by NewSession
    // (neither asked just now), in one transaction with the session.
    partition_set on_login;
    const auto b = s->create_account("bob", util::sha256_hex("t"), {"b1", "e1/bob", ""}, on_login);
    CHECK(waiting(pg) == 0);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL AND account_lo = " + id(std::min(a, b)) +
                   " AND account_hi = " + id(std::max(a, b))) == 1);
    CHECK(new_sessions(pg, a, b) == 1);
    CHECK(new_sessions(pg, b, a) == 1);
    CHECK(on_login.size() == 1);
}

TEST_CASE("rules: a MATCH while waiting answers 13 and changes nothing, CANCEL_MATCH ends waiting") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online(*s, "alice");
    CHECK(s->match({a, {"Music", " chess "}}, woken).code == code::waiting);
    const auto since = pg.value("SELECT since FROM match_waiters");
    CHECK(s->match({a, {"poker"}}, woken).code == code::waiting);
    CHECK(pg.value("SELECT interests FROM match_waiters") == "{chess,music}");  // lower case, sorted
    CHECK(pg.value("SELECT since FROM match_waiters") == since);

    CHECK(s->cancel_match(a) == code::ok);
    CHECK(waiting(pg) == 0);
    CHECK(s->cancel_match(a) == code::no_data);

    // Not waiting any more: someone else's MATCH picks alice at random like anyone online.
    const auto b = online(*s, "bob");
    const auto m = s->match({b, {}}, woken);
    REQUIRE(m.code == code::ok);
    CHECK(m.partner_id == a);
    CHECK(new_sessions(pg, a, b) == 1);
    CHECK(new_sessions(pg, b, a) == 0);  // bob asked: the MATCH reply tells him
}

TEST_CASE("rules: a shared interest pairs at once, with the longest waiting first") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");
    const auto c = online(*s, "c");
    const auto d = online(*s, "d");
    // Interests nobody shares: they wait although others are online (interest_wait 10 s).
    CHECK(s->match({a, {"jazz"}}, woken).code == code::waiting);
    std::this_thread::sleep_for(20ms);
    CHECK(s->match({b, {"chess"}}, woken).code == code::waiting);
    CHECK(waiting(pg) == 2);

    // c shares with both: the one waiting longest, a, is taken; c was not waiting, so the
    // MATCH reply tells c and NewSession tells a.
    const auto first = s->match({c, {"CHESS", "Jazz"}}, woken);
    REQUIRE(first.code == code::ok);
    CHECK(first.partner_id == a);
    CHECK(first.common_interests == std::vector<std::string>{"jazz"});
    CHECK(new_sessions(pg, a, c) == 1);
    CHECK(pg.value("SELECT common_interests FROM sessions WHERE id = " + id(first.session_id)) == "{jazz}");

    // d, likewise, gets b, the only one left; nobody waits any more.
    const auto second = s->match({d, {"chess"}}, woken);
    REQUIRE(second.code == code::ok);
    CHECK(second.partner_id == b);
    CHECK(second.common_interests == std::vector<std::string>{"chess"});
    CHECK(waiting(pg) == 0);
}

TEST_CASE("a group of MATCHes answers each in its order, with its own interests") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto jazz = online(*s, "jazz");
    const auto chess = online(*s, "chess");
    REQUIRE(s->match({jazz, {"jazz"}}, woken).code == code::waiting);
    REQUIRE(s->match({chess, {"chess", "go"}}, woken).code == code::waiting);
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");
    const auto c = online(*s, "c");
    const auto d = online(*s, "d");

    // One call (one statement): a names two tags, one of them chess's; b names none and
    // takes anyone not waiting (chess too, no longer waiting once a took them); c names
    // jazz's tag; d's only tag is shared by nobody.
    const auto out = s->match_many({{a, {"Go", "chess"}}, {b, {}}, {c, {" jazz "}}, {d, {"opera"}}}, woken);
    REQUIRE(out.size() == 4);
    REQUIRE(out[0].code == code::ok);
    CHECK(out[0].partner_id == chess);
    CHECK(out[0].common_interests == std::vector<std::string>{"chess", "go"});
    REQUIRE(out[1].code == code::ok);
    CHECK(out[1].partner_id != jazz);
    CHECK(out[1].partner_id != b);
    CHECK(out[1].common_interests.empty());
    REQUIRE(out[2].code == code::ok);
    CHECK(out[2].partner_id == jazz);
    CHECK(out[2].common_interests == std::vector<std::string>{"jazz"});
    CHECK(out[3].code == code::waiting);
    CHECK(pg.value("SELECT interests FROM match_waiters WHERE account_id = " + id(d)) == "{opera}");
}

TEST_CASE("rules: among waiters, a shared interest comes before a longer wait") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    const auto me = online(*s, "me");
    const auto old_anyone = online(*s, "old");
    const auto sharer = online(*s, "sharer");
    // The pool as the sweep might find it: someone taking anyone for a minute, someone
    // sharing "chess" for ten seconds.
    pg.db.query("INSERT INTO match_waiters (account_id, since, interests, takes_anyone_at, next_try) VALUES (" +
                id(old_anyone) + ", now() - interval '60 s', '{}', now() - interval '60 s', now() + interval '1 h'), (" +
                id(sharer) + ", now() - interval '10 s', '{chess}', now() + interval '1 h', now() + interval '1 h')");
    const auto take = [&](const char* mine, bool anyone) {
        return pg.value(std::string("SELECT partner_id FROM chat_claim_waiter(") + id(me) + ", '" + mine + "', " +
                        (anyone ? "true" : "false") + ", 5, interval '10 min')");
    };
    CHECK(take("{chess}", true) == id(sharer));
    CHECK(take("{chess}", true) == id(old_anyone));
    CHECK(waiting(pg) == 0);
}

TEST_CASE("rules: someone with interests takes anyone once matching.interest_wait ran out") {
    test::pg_fixture pg;
    auto s = pg.make_store(quick_policy());
    partition_set woken;
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");  // online, not waiting, gave no interests
    CHECK(s->match({a, {"jazz"}}, woken).code == code::waiting);
    CHECK(s->retry_waiters(woken) == 0);  // not yet: only people sharing jazz
    std::this_thread::sleep_for(400ms);
    partition_set swept;
    CHECK(s->retry_waiters(swept) == 1);
    CHECK(waiting(pg) == 0);
    CHECK(new_sessions(pg, a, b) == 1);  // neither asked just now: both are told
    CHECK(new_sessions(pg, b, a) == 1);
    CHECK(swept.size() == 1);
}

TEST_CASE("rules: never yourself, never twice at once, never within the repeat window") {
    test::pg_fixture pg;
    auto s = pg.make_store(quick_policy());
    partition_set woken;
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");
    const auto ab = s->match({a, {}}, woken);
    REQUIRE(ab.code == code::ok);
    REQUIRE(ab.partner_id == b);
    // Already talking: a waits rather than open a second session with b.
    CHECK(s->match({a, {}}, woken).code == code::waiting);
    CHECK(s->match({b, {}}, woken).code == code::waiting);  // and b, who suits nobody either
    CHECK(pg.count("SELECT count(*) FROM sessions") == 1);
    CHECK(s->cancel_match(a) == code::ok);
    CHECK(s->cancel_match(b) == code::ok);

    // They part; within the repeat window neither gets the other.
    REQUIRE(s->leave(ab.session_id, a, woken) == code::ok);
    CHECK(s->match({a, {}}, woken).code == code::waiting);
    CHECK(s->retry_waiters(woken) == 0);
    // Once it is over, the waiter's next try pairs them again.
    std::this_thread::sleep_for(400ms);
    CHECK(s->retry_waiters(woken) == 1);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 1);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE account_lo = account_hi") == 0);
}

TEST_CASE("rules: never someone either side blocked, whatever the windows say") {
    test::pg_fixture pg;
    auto p = quick_policy();
    p.repeat_window = 0ms;
    auto s = pg.make_store(p);
    partition_set woken;
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");
    const auto ab = s->match({a, {}}, woken);
    REQUIRE(ab.partner_id == b);
    REQUIRE(s->block(ab.session_id, a, std::nullopt, woken) == code::ok);
    CHECK(pg.value("SELECT ended_at IS NOT NULL FROM sessions WHERE id = " + id(ab.session_id)) == "t");
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('partner_exit') AND receiver_id = " + id(b)) == 1);
    // Blocking again (the session has ended) is fine and changes nothing.
    CHECK(s->block(ab.session_id, a, std::nullopt, woken) == code::ok);
    CHECK(pg.count("SELECT count(*) FROM blocks") == 1);

    // Neither may have the other: both wait, side by side, for someone else.
    CHECK(s->match({a, {}}, woken).code == code::waiting);
    CHECK(s->match({b, {}}, woken).code == code::waiting);
    std::this_thread::sleep_for(100ms);
    CHECK(s->retry_waiters(woken) == 0);
    // A third person arriving is taken by the one waiting longest.
    const auto c = online(*s, "c");
    CHECK(new_sessions(pg, a, c) == 1);
    CHECK(waiting(pg) == 1);
    // Someone outside the session cannot block it.
    CHECK(s->block(ab.session_id, c, std::nullopt, woken) == code::session_closed);
}

TEST_CASE("rules: at matching.max_conversations MATCH answers 15 and nobody picks you") {
    test::pg_fixture pg;
    auto p = quick_policy();
    p.max_conversations = 2;
    auto s = pg.make_store(p);
    partition_set woken;
    const auto a = online(*s, "a");
    const auto b = online(*s, "b");
    const auto c = online(*s, "c");
    REQUIRE(s->match({a, {}}, woken).code == code::ok);
    REQUIRE(s->match({a, {}}, woken).code == code::ok);
    const auto capped = s->match({a, {}}, woken);
    CHECK(capped.code == code::too_many_conversations);
    CHECK(capped.msg.find('2') != std::string::npos);
    CHECK(waiting(pg) == 0);
    // b and c each have one conversation (with a); a is at the cap, so b finds c.
    const auto bc = s->match({b, {}}, woken);
    REQUIRE(bc.code == code::ok);
    CHECK(bc.partner_id == c);
    // Everyone else is at the cap now: d waits, although three people are online.
    const auto d = online(*s, "d");
    CHECK(s->match({d, {}}, woken).code == code::waiting);
    std::this_thread::sleep_for(100ms);
    CHECK(s->retry_waiters(woken) == 0);
    // b and c end their conversation: below the cap again, one of them is taken by d's
    // next try; a, still at the cap, is not.
    REQUIRE(s->leave(bc.session_id, b, woken) == code::ok);
    std::this_thread::sleep_for(100ms);
    CHECK(s->retry_waiters(woken) == 1);
    CHECK(new_sessions(pg, b, d) + new_sessions(pg, c, d) == 1);
    CHECK(new_sessions(pg, a, d) == 0);
}


TEST_CASE("LEAVE ends one conversation for both, once") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online(*s, "a");
    online(*s, "b");
    const auto c = online(*s, "c");
    const auto ab = s->match({a, {}}, woken);
    REQUIRE(ab.code == code::ok);
    partition_set left;
    CHECK(s->leave(ab.session_id, c == ab.partner_id ? a + c + 1000 : c, left) == code::session_closed);
    CHECK(left.empty());
    CHECK(s->leave(ab.session_id, ab.partner_id, left) == code::ok);
    CHECK(left.count(static_cast<int>(ab.session_id % s->inbox_partitions())) == 1);
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('partner_exit') AND receiver_id = " + id(a) +
                   " AND peer_id = " + id(ab.partner_id)) == 1);
    CHECK(s->leave(ab.session_id, a, woken) == code::session_closed);  // already ended
    CHECK(s->leave(ab.session_id, ab.partner_id, woken) == code::session_closed);
    CHECK(s->leave(999999, a, woken) == code::session_closed);
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('partner_exit')") == 1);
}

TEST_CASE("waiting pauses while away and ends with LOGOUT") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = s->create_account("a", util::sha256_hex("t"), {"b1", "e1/a", ""});
    CHECK(s->match({a, {}}, woken).code == code::waiting);
    REQUIRE(s->connection_lost(a, "e1/a", woken));
    CHECK(waiting(pg) == 1);  // paused, not gone
    // Someone arriving is not given to a waiter who is away...
    const auto b = online(*s, "b");
    CHECK(pg.count("SELECT count(*) FROM sessions") == 0);
    // ...but a, back, is paired at once (with b, online and not waiting).
    const auto back = s->reconnect(a, util::sha256_hex("t"), {"b1", "e1/a2", ""}, woken);
    REQUIRE(back.code == code::ok);
    CHECK_FALSE(back.waiting);
    CHECK(new_sessions(pg, a, b) == 1);
    CHECK(waiting(pg) == 0);

    // LOGOUT ends waiting.
    const auto c = s->create_account("c", util::sha256_hex("t"), {"b1", "e1/c", ""});
    CHECK(s->match({c, {"x"}}, woken).code == code::waiting);
    REQUIRE(s->take_offline(c, "e1/c", true, woken));
    CHECK(waiting(pg) == 0);
}

TEST_CASE("waiting ends when the grace runs out") {
    test::pg_fixture pg;
    auto s = std::make_unique<logic::store>(std::make_unique<pqxx::connection>(pg.db.url_as(stack::k_logic_role)),
                                            logic::presence_policy{100ms}, match_policy{});
    partition_set woken;
    const auto a = s->create_account("a", util::sha256_hex("t"), {"b1", "e1/a", ""});
    CHECK(s->match({a, {"x"}}, woken).code == code::waiting);
    REQUIRE(s->connection_lost(a, "e1/a", woken));
    std::this_thread::sleep_for(200ms);
    CHECK(s->expire_away(woken) == 1);
    CHECK(waiting(pg) == 0);
}

TEST_CASE("REPORT stores the evidence, counts each account once, and bans account and address") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto troll = online(*s, "troll", "10.0.0.9");
    std::vector<std::int64_t> reporters, sessions;
    for (int i = 1; i <= 3; ++i) {
        reporters.push_back(online(*s, "r" + std::to_string(i), "10.0.1." + std::to_string(i)));
        sessions.push_back(pg.open_session(reporters.back(), troll));
    }
    // 25 messages in the first conversation: the report keeps the last 20.
    std::vector<logic::dialogue_item> items;
    for (int k = 1; k <= 25; ++k)
        items.push_back({sessions[0], k % 2 ? troll : reporters[0], "m" + std::to_string(k), "message " + std::to_string(k)});
    s->store_dialogues(items, woken);

    REQUIRE(s->block(sessions[0], reporters[0], logic::report_details{"harassment", "kept insulting me"}, woken) ==
            code::ok);
    CHECK(pg.value("SELECT reporter_id, reported_id, reason, text, reporter_address, reported_address, "
                   "jsonb_array_length(messages), messages->0->>'content', messages->19->>'content', "
                   "session_id, created_at > now() - interval '1 minute' FROM reports") ==
          id(reporters[0]) + "|" + id(troll) + "|harassment|kept insulting me|10.0.1.1|10.0.0.9|20|message 6|message 25|" +
              id(sessions[0]) + "|t");
    // It blocked as BLOCK does: the conversation ended, and the two never meet again.
    CHECK(pg.value("SELECT ended_at IS NOT NULL FROM sessions WHERE id = " + id(sessions[0])) == "t");
    CHECK(pg.count("SELECT count(*) FROM blocks WHERE blocker_id = " + id(reporters[0]) + " AND blocked_id = " + id(troll)) == 1);

    // The same person reporting again adds nothing.
    REQUIRE(s->block(sessions[0], reporters[0], logic::report_details{"spam", ""}, woken) == code::ok);
    CHECK(pg.count("SELECT count(*) FROM reports") == 1);
    REQUIRE(s->block(sessions[1], reporters[1], logic::report_details{"spam", ""}, woken) == code::ok);
    CHECK(s->match({troll, {"x"}}, woken).code == code::waiting);  // two accounts: not yet banned

    REQUIRE(s->block(sessions[2], reporters[2], logic::report_details{"hate", ""}, woken) == code::ok);
    CHECK(waiting(pg) == 0);  // the ban ended the waiting
    const auto banned = s->match({troll, {}}, woken);
    CHECK(banned.code == code::banned);
    CHECK(banned.banned_until.size() == 20);  // 2026-12-08T07:00:00Z
    CHECK(banned.banned_until.back() == 'Z');
    CHECK(pg.value("SELECT account_id, client_address, until BETWEEN now() + interval '23 h 59 min' AND "
                   "now() + interval '24 h 1 min' FROM bans") == id(troll) + "|10.0.0.9|t");
    // A new account from the banned address fares the same; one from elsewhere does not,
    // and is never given the banned ones.
    const auto fresh = online(*s, "new-me", "10.0.0.9");
    CHECK(s->match({fresh, {}}, woken).code == code::banned);
    const auto other = online(*s, "someone", "10.0.2.1");
    const auto m = s->match({other, {}}, woken);
    REQUIRE(m.code == code::ok);
    CHECK(m.partner_id != troll);
    CHECK(m.partner_id != fresh);
    // Not a member: 8.
    CHECK(s->block(sessions[0], other, logic::report_details{"spam", ""}, woken) == code::session_closed);
}

TEST_CASE("REPORT: accounts made in a burst at the reported person's address do not count") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto target = online(*s, "target", "10.0.0.9");
    // Three reporters made within a minute of each other from the target's own address
    // (the cheapest brigade: the same network, fresh accounts).
    for (int i = 0; i < 3; ++i) {
        const auto r = online(*s, "sock" + std::to_string(i), "10.0.0.9");
        REQUIRE(s->block(pg.open_session(r, target), r, logic::report_details{"spam", ""}, woken) == code::ok);
    }
    CHECK(pg.count("SELECT count(*) FROM reports") == 3);
    CHECK(pg.count("SELECT count(*) FROM bans") == 0);
    CHECK(s->match({target, {"x"}}, woken).code == code::waiting);

    // Accounts from that address made apart, long before, do count.
    const auto second = online(*s, "target2", "10.0.0.7");
    for (int i = 0; i < 3; ++i) {
        const auto r = online(*s, "neighbour" + std::to_string(i), "10.0.0.7");
        pg.db.query("UPDATE accounts SET created_at = now() - interval '" + std::to_string(10 + i) +
                    " days' WHERE id = " + id(r));
        REQUIRE(s->block(pg.open_session(r, second), r, logic::report_details{"spam", ""}, woken) == code::ok);
    }
    CHECK(s->match({second, {}}, woken).code == code::banned);
}

TEST_CASE("concurrency: many MATCHes at once from many connections pair each person once") {
    // group 1: one MATCH per transaction; group 4: logic's group commit.
    const std::size_t group = GENERATE(1, 4);
    test::pg_fixture pg;
    const auto ids = online_accounts(pg, {}, 48);
    // Everyone gave the interest "x", so nobody is picked at random: each person either
    // takes a waiter or waits, and must end in exactly one conversation, nobody waiting.
    const int errors = match_from_threads(pg, {}, 8, [&](std::size_t t) {
        std::vector<match_group> groups;
        for (std::size_t k = t * 6; k < t * 6 + 6; k += group) {
            auto& asks = groups.emplace_back();
            for (std::size_t j = k; j < k + group && j < t * 6 + 6; ++j) asks.push_back({ids[j], {"x"}});
        }
        return groups;
    });
    CHECK(errors == 0);
    CHECK(waiting(pg) == 0);
    CHECK(pg.count("SELECT count(*) FROM sessions") == 24);
    CHECK(pg.count("SELECT count(*) FROM (SELECT account_id FROM session_members GROUP BY 1 HAVING count(*) <> 1) d") == 0);
    CHECK(pg.count("SELECT count(DISTINCT account_id) FROM session_members") == 48);
}

TEST_CASE("concurrency: without interests, no pair twice and no two suitable people left waiting") {
    test::pg_fixture pg;
    auto p = quick_policy();
    p.max_conversations = 3;
    const auto ids = online_accounts(pg, p, 24);
    const int errors = match_from_threads(pg, p, 6, [&](std::size_t t) {
        std::vector<match_group> groups;
        for (std::size_t round = 0; round < 8; ++round) {
            auto& asks = groups.emplace_back();
            for (std::size_t j = 0; j < 2; ++j) asks.push_back({ids[(t * 4 + round * 3 + j) % ids.size()], {}});
        }
        return groups;
    });
    CHECK(errors == 0);
    CHECK(pg.count("SELECT count(*) FROM (SELECT account_lo, account_hi FROM sessions GROUP BY 1, 2 HAVING count(*) > 1) d") == 0);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE account_lo = account_hi") == 0);
    CHECK(pg.count("SELECT count(*) FROM (SELECT account_id FROM session_members GROUP BY 1 HAVING count(*) > 3) d") == 0);
    CHECK(pg.count("SELECT count(*) FROM match_waiters a JOIN match_waiters b ON a.account_id < b.account_id "
                   "WHERE chat_may_pair(a.account_id, b.account_id, interval '300 ms') "
                   "AND chat_open_sessions(a.account_id) < 3 AND chat_open_sessions(b.account_id) < 3") == 0);
}

TEST_CASE("concurrency: batches of MATCHes that pick each other's requesters never deadlock") {
    // Logic commits MATCHes in groups; a group that waited for one requester's row while
    // holding another's would deadlock with a group doing the reverse (PostgreSQL then
    // aborts one after deadlock_timeout and logic retries it: seconds of stall).
    test::pg_fixture pg;
    auto p = quick_policy();
    p.max_conversations = 1000;
    p.repeat_window = 0ms;
    const auto ids = online_accounts(pg, p, 16);
    const auto deadlocks = [&] {
        return pg.count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    };
    const auto before = deadlocks();
    const int errors = match_from_threads(pg, p, 8, [&](std::size_t t) {
        std::vector<match_group> groups;
        for (std::size_t round = 0; round < 25; ++round) {
            // Four requesters each, in an order that differs from thread to thread.
            auto& asks = groups.emplace_back();
            for (std::size_t j = 0; j < 4; ++j)
                asks.push_back({ids[(t * 5 + round * 7 + j * (t % 2 == 0 ? 3 : 13)) % ids.size()], {}});
        }
        return groups;
    });
    std::this_thread::sleep_for(1500ms);  // the closed backends' statistics reach pg_stat_database
    CHECK(errors == 0);
    CHECK(deadlocks() - before == 0);
    CHECK(pg.count("SELECT count(*) FROM sessions") > 0);
}

TEST_CASE("concurrency: a recheck that finds no suitable waiter does not wait for the pool lock") {
    test::pg_fixture pg;
    std::int64_t alone = 0, other = 0;
    {
        auto s = pg.make_store();
        alone = online(*s, "alone");
        other = online(*s, "other");
        partition_set woken;
        REQUIRE(s->match({alone, {"only-mine"}}, woken).code == code::waiting);
        REQUIRE(s->match({other, {"theirs"}}, woken).code == code::waiting);
    }
    // Someone holds the pool lock (a long sweep, say).
    pqxx::connection holder(pg.db.url());
    pqxx::work hold(holder);
    hold.exec("SELECT pg_advisory_xact_lock(1667760131, 0)");

    pqxx::connection conn(pg.db.url());
    pqxx::nontransaction tx(conn);
    tx.exec("SET lock_timeout = '2s'");
    const auto recheck = [&](std::int64_t account) {
        return tx.exec1("SELECT code FROM chat_match('recheck', " + id(account) +
                        ", '{}', 0.5, 5, interval '10 min', interval '1 h', interval '2 s')")[0]
            .as<int>();
    };
    CHECK(recheck(alone) == 4);  // nobody shares "only-mine": answered without the lock
    // A waiter who would suit makes the recheck take the lock (and time out here).
    pg.db.query("UPDATE match_waiters SET interests = '{only-mine}' WHERE account_id = " + id(other));
    CHECK_THROWS_AS(recheck(alone), pqxx::sql_error);
    hold.abort();
    CHECK(waiting(pg) == 2);
}

TEST_CASE("MATCH with 100,000 online seeks indexes instead of scanning everyone") {
    test::pg_fixture pg;
    pg.db.query(
        "INSERT INTO accounts (nickname, online, broker_id, conn_key) "
        "SELECT 'u' || g, true, 'b1', 'e1/' || g FROM generate_series(1, 100000) g; "
        // A share of them waiting, some with interests.
        "INSERT INTO match_waiters (account_id, since, interests, takes_anyone_at, next_try) "
        "SELECT g, now(), ARRAY['tag' || g], now() + interval '1 h', now() + interval '1 h' "
        "FROM generate_series(2, 100000, 50) g; ANALYZE;");
    auto s = pg.make_store();
    partition_set woken;
    std::set<std::int64_t> partners;
    for (int i = 0; i < 5; ++i) {
        const auto m = s->match({1, {}}, woken);
        REQUIRE(m.code == code::ok);
        CHECK(pg.count("SELECT count(*) FROM match_waiters WHERE account_id = " + id(m.partner_id)) == 0);
        partners.insert(m.partner_id);
    }
    CHECK(partners.size() == 5);  // random, never a waiter, never twice
    const auto shared = s->match({3, {"TAG1002"}}, woken);
    REQUIRE(shared.code == code::ok);
    CHECK(shared.partner_id == 1002);

    // The plans PostgreSQL runs inside chat_match, as auto_explain reports them: every
    // lookup an index condition, no sequential scan of accounts or the pool.
    pqxx::connection conn(pg.db.url());
    std::vector<std::string> notices;
    struct collect : pqxx::errorhandler {
        collect(pqxx::connection& c, std::vector<std::string>& out) : pqxx::errorhandler(c), out_(out) {}
        bool operator()(const char msg[]) noexcept override {
            out_.emplace_back(msg);
            return true;
        }
        std::vector<std::string>& out_;
    } collector(conn, notices);
    pqxx::nontransaction tx(conn);
    tx.exec("LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; "
            "SET auto_explain.log_level = notice; SET client_min_messages = notice");
    tx.exec("SELECT * FROM chat_match('ask', 5, '{tag1502}', 0.5, 5, interval '10 min', interval '10 s', interval '2 s')");
    tx.exec("SELECT * FROM chat_match('ask', 7, '{}', 0.5, 5, interval '10 min', interval '10 s', interval '2 s')");
    // Nobody's match_key is at or after 1 (random() < 1): the pick wraps around.
    tx.exec("SELECT * FROM chat_match('ask', 9, '{}', 1.0, 5, interval '10 min', interval '10 s', interval '2 s')");
    std::string plans;
    for (const auto& n : notices) plans += n;
    INFO(plans);
    CHECK(plans.find("Index Cond: (match_key >= ") != std::string::npos);
    CHECK(plans.find("Index Cond: (match_key < ") != std::string::npos);
    CHECK(plans.find("match_waiters_interests") != std::string::npos);
    CHECK(plans.find("Seq Scan on accounts") == std::string::npos);
    CHECK(plans.find("Seq Scan on match_waiters") == std::string::npos);
}
