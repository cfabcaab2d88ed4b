// Retention against a real PostgreSQL (migrations/0008, services/logic/src/retention.cpp):
// what goes and, as much, what stays. The purge runs as logic's role, as in production.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "services/logic/src/retention.hpp"
#include "services/logic/src/sql.hpp"
#include "shared/log/logger.hpp"
#include "shared/util/token.hpp"
#include "tests/integration/pg_fixture.hpp"

using namespace chat;
using namespace std::chrono_literals;

namespace {

std::string id(std::int64_t v) { return std::to_string(v); }

/// logic's role's connection with the retention statements, as the retention thread has.
std::unique_ptr<pqxx::connection> retention_connection(const test::pg_fixture& pg) {
    auto conn = std::make_unique<pqxx::connection>(pg.db.url_as(stack::k_logic_role));
    logic::sql::prepare_retention(*conn);
    return conn;
}

/// Only the given kinds, with the shipped windows; no pause.
logic::retention_policy only(bool messages, bool accounts, bool reports, int batch = 1000) {
    logic::retention_policy p;
    if (!messages) p.messages = 0ms;
    if (!accounts) p.accounts = 0ms;
    if (!reports) p.reports = 0ms;
    p.batch = batch;
    return p;
}

logic::purge_counts purge(pqxx::connection& conn, const logic::retention_policy& policy) {
    auto counts = logic::purge_round(conn, policy, [] { return true; }, [](const char*, long long) {});
    REQUIRE(counts);
    return *counts;
}

struct accounts_and_store {
    std::unique_ptr<logic::store> s;
    logic::partition_set woken;

    explicit accounts_and_store(const test::pg_fixture& pg) : s(pg.make_store()) {}
    std::int64_t online(const std::string& nick) {
        static int n = 0;
        return s->create_account(nick, util::sha256_hex("t"), {"b1", "e/" + std::to_string(++n), ""});
    }
    /// A conversation of a and b with `n` messages from a; ended `ended_ago` ago (SQL
    /// interval) when given.
    std::int64_t conversation(const test::pg_fixture& pg, std::int64_t a, std::int64_t b, int n,
                              const std::string& ended_ago = "") {
        const auto session = pg.open_session(a, b);
        std::vector<logic::dialogue_item> items;
        for (int i = 0; i < n; ++i) items.push_back({session, a, "r" + std::to_string(i), "m" + std::to_string(i)});
        s->store_dialogues(items, woken);
        if (!ended_ago.empty())
            pg.value("UPDATE sessions SET ended_at = now() - interval '" + ended_ago + "' WHERE id = " + id(session));
        return session;
    }
};

}  // namespace

TEST_CASE("retention: conversations ended before retention.messages go with everything of theirs, recent and open ones stay") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    const auto a = t.online("a"), b = t.online("b"), c = t.online("c");
    const auto old = t.conversation(pg, a, b, 3);
    const auto recent = t.conversation(pg, a, c, 2);
    const auto open = t.conversation(pg, b, c, 4);
    // Ended 8 and 6 days ago; the open one started and last spoke a month ago.
    pg.value("UPDATE sessions SET ended_at = now() - interval '8 days' WHERE id = " + id(old));
    pg.value("UPDATE sessions SET ended_at = now() - interval '6 days' WHERE id = " + id(recent));
    pg.value("UPDATE sessions SET created_at = now() - interval '30 days' WHERE id = " + id(open));
    pg.value("UPDATE messages SET created_at = now() - interval '30 days'");
    // A delivery of the old one still waiting (its receiver never came back), and a report
    // of it: the report keeps its own copy of the messages and outlives the conversation.
    REQUIRE(pg.count("SELECT count(*) FROM inbox WHERE session_id = " + id(old)) == 3);
    REQUIRE(t.s->block(old, b, logic::report_details{"spam", ""}, t.woken) == wire::code::ok);

    auto conn = retention_connection(pg);
    const auto counts = purge(*conn, only(true, false, false));
    CHECK(counts.messages == 3);
    CHECK(counts.sessions == 1);

    for (const char* table : {"sessions WHERE id", "messages WHERE session_id", "session_members WHERE session_id",
                              "session_sequences WHERE session_id", "inbox WHERE session_id"})
        CHECK(pg.count(std::string("SELECT count(*) FROM ") + table + " = " + id(old)) == 0);
    CHECK(pg.count("SELECT count(*) FROM messages WHERE session_id = " + id(recent)) == 2);
    CHECK(pg.count("SELECT count(*) FROM messages WHERE session_id = " + id(open)) == 4);
    CHECK(pg.count("SELECT count(*) FROM session_members WHERE session_id IN (" + id(recent) + ", " + id(open) + ")") ==
          4);
    CHECK(pg.value("SELECT jsonb_array_length(messages) FROM reports WHERE session_id = " + id(old)) == "3");

    // The open conversation goes on: its next message is number 5, and the partner gets it.
    logic::partition_set woken;
    const auto out = t.s->store_dialogues({{open, c, "after", "still here"}}, woken);
    CHECK(out[0].code == wire::code::ok);
    CHECK(out[0].msg_id == 5);
    // Nothing is left to do.
    const auto again = purge(*conn, only(true, false, false));
    CHECK(again.messages + again.sessions == 0);
}

TEST_CASE("retention: each transaction deletes about retention.batch rows, whole conversations while they fit") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    const auto a = t.online("a"), b = t.online("b");
    for (int i = 0; i < 5; ++i) t.conversation(pg, a, b, 4, std::to_string(20 - i) + " days");  // 4 messages + 1 each
    const auto big = t.conversation(pg, a, b, 23, "8 days");  // bigger than a batch; ended last

    auto conn = retention_connection(pg);
    pqxx::nontransaction tx(*conn);
    auto batch = [&] {
        const auto r = tx.exec_prepared1(logic::sql::k_purge_sessions, 7LL * 24 * 3600 * 1000, 10);
        return std::tuple{r[0].as<int>(), r[1].as<int>(), r[2].as<bool>()};
    };
    // Oldest first, two whole conversations (2 x 5 rows) per batch of 10.
    CHECK(batch() == std::tuple{2, 8, true});
    CHECK(batch() == std::tuple{2, 8, true});
    CHECK(batch() == std::tuple{1, 4, true});  // the big one does not fit beside it
    // The big one alone: its oldest messages, ten at a time, then the rest and itself.
    CHECK(batch() == std::tuple{0, 10, true});
    CHECK(pg.value("SELECT min(msg_id) FROM messages WHERE session_id = " + id(big)) == "11");
    CHECK(batch() == std::tuple{0, 10, true});
    CHECK(batch() == std::tuple{1, 3, false});
    CHECK(batch() == std::tuple{0, 0, false});
    CHECK(pg.count("SELECT count(*) FROM sessions") == 0);
    CHECK(pg.count("SELECT count(*) FROM messages") == 0);
    CHECK(pg.count("SELECT count(*) FROM session_members") + pg.count("SELECT count(*) FROM session_sequences") == 0);
}

TEST_CASE("retention: a round runs batches until nothing is left, pausing between them") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    const auto a = t.online("a"), b = t.online("b");
    for (int i = 0; i < 6; ++i) t.conversation(pg, a, b, 3, "10 days");
    auto conn = retention_connection(pg);
    int pauses = 0;
    long long largest = 0, messages = 0;
    const auto counts = logic::purge_round(
        *conn, only(true, false, false, 8),
        [&] {
            ++pauses;
            return true;
        },
        [&](const char* kind, long long rows) {
            largest = std::max(largest, rows);
            if (std::string(kind) == "messages") messages += rows;
        });
    REQUIRE(counts);
    CHECK(counts->sessions == 6);
    CHECK(counts->messages == 18);
    CHECK(messages == 18);
    CHECK(counts->batches == 3);  // 2 + 2 + 2 conversations of 4 rows; the last batch saw it took the last
    CHECK(pauses == 2);
    CHECK(largest <= 8);
    CHECK(pg.count("SELECT count(*) FROM messages") == 0);

    // A pause that says stop ends the round after the batch in flight.
    for (int i = 0; i < 6; ++i) t.conversation(pg, a, b, 3, "10 days");
    const auto stopped = logic::purge_round(
        *conn, only(true, false, false, 8), [] { return false; }, [](const char*, long long) {});
    REQUIRE(stopped);
    CHECK(stopped->batches == 1);
    CHECK(stopped->sessions == 2);
}

TEST_CASE("retention: accounts offline longer than retention.accounts with nothing left go, the others stay") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    logic::partition_set woken;
    auto offline_since = [&](std::int64_t account, const char* ago) {
        pg.value("UPDATE accounts SET online = false, broker_id = NULL, conn_key = NULL, dropped_at = now() - interval '" +
                 std::string(ago) + "' WHERE id = " + id(account));
    };
    const auto gone = t.online("gone"), never_dropped = t.online("made-long-ago");
    const auto online = t.online("online"), away = t.online("away"), recent = t.online("recent");
    const auto talking = t.online("talking"), partner = t.online("partner");
    const auto history = t.online("history"), waiting = t.online("waiting"), banned = t.online("banned");
    const auto reporter = t.online("reporter"), reported = t.online("reported");

    offline_since(gone, "40 days");
    pg.value("UPDATE accounts SET online = false, dropped_at = NULL, created_at = now() - interval '40 days' WHERE id = " +
             id(never_dropped));
    pg.value("UPDATE accounts SET created_at = now() - interval '90 days', dropped_at = now() - interval '40 days' "
             "WHERE id = " + id(online));  // online again since
    offline_since(away, "40 days");
    pg.value("UPDATE accounts SET away_since = now() - interval '40 days' WHERE id = " + id(away));
    offline_since(recent, "10 days");
    // An open conversation (its grace never ran out on this clock), and one ended yesterday.
    t.conversation(pg, talking, partner, 1);
    offline_since(talking, "40 days");
    offline_since(partner, "40 days");
    const auto kept_history = t.conversation(pg, history, online, 1);
    pg.value("UPDATE sessions SET ended_at = now() - interval '1 day' WHERE id = " + id(kept_history));
    offline_since(history, "40 days");
    // In the pool (an offline waiter is paused, not gone), and banned now.
    pg.value("INSERT INTO match_waiters (account_id, takes_anyone_at, next_try) VALUES (" + id(waiting) +
             ", now(), now())");
    offline_since(waiting, "40 days");
    pg.value("INSERT INTO bans (account_id, until, reason) VALUES (" + id(banned) + ", now() + interval '1 day', 'x')");
    offline_since(banned, "40 days");
    // A report between two accounts: both stay while it does.
    const auto reported_in = t.conversation(pg, reporter, reported, 1);
    REQUIRE(t.s->block(reported_in, reporter, logic::report_details{"spam", ""}, woken) == wire::code::ok);
    pg.value("UPDATE sessions SET ended_at = now() - interval '40 days' WHERE id = " + id(reported_in));
    offline_since(reporter, "40 days");
    offline_since(reported, "40 days");
    // What goes with the account that goes: its blocks both ways and its expired bans.
    pg.value("INSERT INTO blocks (blocker_id, blocked_id) VALUES (" + id(gone) + ", " + id(recent) + "), (" + id(recent) +
             ", " + id(gone) + ")");
    pg.value("INSERT INTO bans (account_id, until, reason) VALUES (" + id(gone) + ", now() - interval '50 days', 'x')");

    auto conn = retention_connection(pg);
    const auto counts = purge(*conn, only(true, true, false));
    CHECK(counts.sessions == 1);  // the reported conversation ended 40 days ago
    CHECK(counts.accounts == 2);
    CHECK(pg.value("SELECT string_agg(nickname, ',' ORDER BY id) FROM accounts WHERE id IN (" + id(gone) + ", " +
                   id(never_dropped) + ")") == "");
    CHECK(pg.count("SELECT count(*) FROM accounts") == 10);
    CHECK(pg.count("SELECT count(*) FROM blocks WHERE " + id(gone) + " IN (blocker_id, blocked_id)") == 0);
    CHECK(pg.count("SELECT count(*) FROM bans WHERE account_id = " + id(gone)) == 0);
    CHECK(pg.count("SELECT count(*) FROM bans WHERE account_id = " + id(banned)) == 1);
    CHECK(pg.count("SELECT count(*) FROM reports") == 1);

    // The report goes after retention.reports, and its two accounts with it (next round).
    pg.value("UPDATE reports SET created_at = now() - interval '91 days'");
    const auto later = purge(*conn, only(true, true, true));
    CHECK(later.reports == 1);
    const auto last = purge(*conn, only(true, true, true));
    CHECK(last.accounts == 2);
    CHECK(pg.count("SELECT count(*) FROM accounts WHERE id IN (" + id(reporter) + ", " + id(reported) + ")") == 0);
    CHECK(pg.count("SELECT count(*) FROM accounts") == 8);
}

TEST_CASE("retention: reports made, and bans that ended, before retention.reports go, newer ones stay") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    logic::partition_set woken;
    const auto a = t.online("a"), b = t.online("b"), c = t.online("c");
    REQUIRE(t.s->block(t.conversation(pg, a, b, 1), a, logic::report_details{"spam", ""}, woken) == wire::code::ok);
    REQUIRE(t.s->block(t.conversation(pg, c, b, 1), c, logic::report_details{"hate", ""}, woken) == wire::code::ok);
    pg.value("UPDATE reports SET created_at = now() - interval '100 days' WHERE reporter_id = " + id(a));
    pg.value("INSERT INTO bans (account_id, until, reason) VALUES (" + id(b) + ", now() - interval '95 days', 'old'), (" +
             id(b) + ", now() - interval '5 days', 'ended lately'), (" + id(b) + ", now() + interval '1 day', 'now')");

    auto conn = retention_connection(pg);
    const auto counts = purge(*conn, only(false, false, true));
    CHECK(counts.reports == 1);
    CHECK(counts.bans == 1);
    CHECK(pg.value("SELECT string_agg(reporter_id::text, ',') FROM reports") == id(c));
    CHECK(pg.value("SELECT string_agg(reason, ',' ORDER BY until) FROM bans") == "ended lately,now");
}

TEST_CASE("retention: one logic process purges at a time") {
    test::pg_fixture pg;
    auto first = retention_connection(pg), second = retention_connection(pg);
    {
        pqxx::nontransaction tx(*first);
        REQUIRE(tx.exec_prepared1(logic::sql::k_retention_try_lock, logic::sql::k_retention_lock_class)[0].as<bool>());
    }
    CHECK_FALSE(logic::purge_round(*second, only(true, true, true), [] { return true; }, [](const char*, long long) {}));
    {
        pqxx::nontransaction tx(*first);
        tx.exec_prepared(logic::sql::k_retention_unlock, logic::sql::k_retention_lock_class);
    }
    CHECK(logic::purge_round(*second, only(true, true, true), [] { return true; }, [](const char*, long long) {}));
    // The round let go of the lock: the other may purge now.
    CHECK(logic::purge_round(*first, only(true, true, true), [] { return true; }, [](const char*, long long) {}));
}

TEST_CASE("retention: logic's role may purge only through the functions") {
    test::pg_fixture pg;
    pqxx::connection conn(pg.db.url_as(stack::k_logic_role));
    auto denied = [&](const std::string& sql) {
        try {
            pqxx::work tx(conn);
            tx.exec(sql);
            tx.commit();
            return false;
        } catch (const pqxx::insufficient_privilege&) {
            return true;
        }
    };
    CHECK(denied("DELETE FROM sessions"));
    CHECK(denied("DELETE FROM accounts"));
    CHECK(denied("DELETE FROM reports"));
    CHECK(denied("SELECT chat_retention_may_drop(1)"));
}

TEST_CASE("retention: logic's retention thread purges every interval and counts what it deleted") {
    test::pg_fixture pg;
    accounts_and_store t(pg);
    const auto a = t.online("a"), b = t.online("b");
    t.conversation(pg, a, b, 2, "8 days");

    metrics::service_metrics registry("logic");
    logic::logic_metrics recorded(registry);
    auto policy = only(true, false, false);
    policy.interval = 50ms;
    logic::retention purger(policy, pg.db.url_as(stack::k_logic_role), recorded,
                            log::make_service_logger("logic-retention-test", "warn", "text"));
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (pg.count("SELECT count(*) FROM sessions") > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    purger.stop();
    CHECK(pg.count("SELECT count(*) FROM sessions") == 0);
    const auto text = registry.render();
    INFO(text);
    CHECK(text.find("chat_retention_deleted_total{kind=\"messages\"} 2") != std::string::npos);
    CHECK(text.find("chat_retention_deleted_total{kind=\"sessions\"} 1") != std::string::npos);
    CHECK(text.find("chat_retention_deleted_total{kind=\"accounts\"} 0") != std::string::npos);
}
