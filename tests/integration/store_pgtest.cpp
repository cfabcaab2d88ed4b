// logic's data layer against a real PostgreSQL: the rules of matching, message
// numbering, idempotency, presence and reconnection as the database enforces them.
#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/integration/pg_fixture.hpp"
#include "shared/util/token.hpp"
#include "services/logic/src/sql.hpp"

using namespace chat;
using chat::logic::connection_ref;
using chat::logic::partition_set;
using chat::wire::code;

namespace {

std::int64_t online_account(logic::store& s, const std::string& nick, const std::string& conn_key,
                            const std::string& token = "t") {
    return s.create_account(nick, util::sha256_hex(token), {"b1", conn_key});
}

}  // namespace

TEST_CASE("create_account stores the token only as its hash and routes the account") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    const auto id = s->create_account("alice", util::sha256_hex("secret-token"), {"b1", "e1/1"});
    CHECK(id > 0);
    CHECK(pg.value("SELECT token_hash FROM accounts WHERE id = " + std::to_string(id)) ==
          util::sha256_hex("secret-token"));
    CHECK(pg.count("SELECT count(*) FROM accounts WHERE token_hash LIKE '%secret%'") == 0);
    CHECK(pg.value("SELECT online, broker_id, conn_key FROM accounts WHERE id = " + std::to_string(id)) == "t|b1|e1/1");
}

TEST_CASE("matching pairs two online strangers, never oneself, never twice") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "alice", "e1/1");

    auto alone = s->match(a, woken);
    CHECK(alone.code == code::no_data);
    CHECK_FALSE(alone.msg.empty());

    const auto b = online_account(*s, "bob", "e1/2");
    auto first = s->match(a, woken);
    REQUIRE(first.code == code::ok);
    CHECK(first.partner_id == b);
    CHECK(first.partner_name == "bob");
    CHECK(woken.count(static_cast<int>(first.session_id % s->inbox_partitions())));
    // The partner is told through the inbox: NewSession for bob about alice.
    CHECK(pg.value("SELECT receiver_id, kind = inbox_kind('new_session'), peer_id FROM inbox") ==
          std::to_string(b) + "|t|" + std::to_string(a));

    // Already talking: neither may open a second session with the other.
    CHECK(s->match(a, woken).code == code::no_data);
    CHECK(s->match(b, woken).code == code::no_data);

    const auto c = online_account(*s, "carol", "e1/3");
    auto second = s->match(a, woken);
    REQUIRE(second.code == code::ok);
    CHECK(second.partner_id == c);

    // Offline accounts are neither matched nor may match.
    const auto d = online_account(*s, "dave", "e1/4");
    REQUIRE(s->take_offline(d, "e1/4", false, woken));
    CHECK(s->match(d, woken).code == code::not_logged_in);
    CHECK(s->match(b, woken).partner_id == c);  // b's only possible partner now
}

TEST_CASE("MATCHes grouped in one transaction follow the same rules as alone") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "alice", "e1/1");
    const auto b = online_account(*s, "bob", "e1/2");
    const auto c = online_account(*s, "carol", "e1/3");
    const auto d = online_account(*s, "dave", "e1/4");
    REQUIRE(s->take_offline(d, "e1/4", false, woken));

    // a twice, b, c and the offline d, in one transaction: a gets two different partners,
    // no pair is opened twice although the matches see each other's sessions only
    // inside the transaction, and d is refused without failing the others.
    const auto out = s->match_many({a, a, b, c, d}, woken);
    REQUIRE(out.size() == 5);
    CHECK(out[4].code == code::not_logged_in);
    std::set<std::pair<std::int64_t, std::int64_t>> pairs;
    int matched = 0;
    const std::int64_t askers[] = {a, a, b, c};
    for (int i = 0; i < 4; ++i) {
        if (out[i].code != code::ok) {
            CHECK(out[i].code == code::no_data);
            continue;
        }
        ++matched;
        CHECK(out[i].partner_id != askers[i]);
        CHECK(out[i].partner_id != d);
        CHECK(pairs.insert(std::minmax(askers[i], out[i].partner_id)).second);
        CHECK(woken.count(static_cast<int>(out[i].session_id % s->inbox_partitions())));
    }
    CHECK(out[0].partner_id != out[1].partner_id);
    // Three online accounts have three possible pairs, and a, b and c each asked.
    CHECK(matched == 3);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 3);
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('new_session')") == 3);
}

TEST_CASE("concurrent matches never create a duplicate pair or a self session") {
    // group == 1: one MATCH per transaction; group == 4: logic's group commit, where
    // concurrent groups may wait for each other's pairs (and, rarely, deadlock and redo).
    const int group = GENERATE(1, 4);
    test::pg_fixture pg;
    std::vector<std::int64_t> ids;
    {
        auto s = pg.make_store();
        for (int i = 0; i < 12; ++i) ids.push_back(online_account(*s, "n" + std::to_string(i), "e1/" + std::to_string(i)));
    }
    std::atomic<int> matched{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            auto s = pg.make_store();
            partition_set woken;
            for (int round = 0; round < 15; round += group) {
                std::vector<std::int64_t> askers;
                for (int k = round; k < round + group; ++k) askers.push_back(ids[(t * 5 + k) % ids.size()]);
                try {
                    for (const auto& m : s->match_many(askers, woken)) matched += m.code == code::ok;
                } catch (const std::exception&) {
                    ++errors;
                }
            }
        });
    for (auto& t : threads) t.join();
    CHECK(errors == 0);
    CHECK(matched > 0);
    // 12 accounts have at most 66 distinct pairs; every open session is a distinct pair.
    CHECK(pg.count("SELECT count(*) FROM sessions") == matched);
    CHECK(pg.count("SELECT count(*) FROM (SELECT account_lo, account_hi FROM sessions GROUP BY 1, 2 HAVING count(*) > 1) d") == 0);
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE account_lo = account_hi") == 0);
    CHECK(pg.count("SELECT count(*) FROM session_members") == 2 * matched);
}

TEST_CASE("matching with 100,000 accounts online probes the index instead of scanning") {
    test::pg_fixture pg;
    pg.db.query(
        "INSERT INTO accounts (nickname, online, broker_id, conn_key) "
        "SELECT 'u' || g, true, 'b1', 'e1/' || g FROM generate_series(1, 100000) g; ANALYZE accounts;");
    auto s = pg.make_store();
    partition_set woken;
    std::set<std::int64_t> partners;
    for (int i = 0; i < 20; ++i) {
        auto m = s->match(1, woken);
        REQUIRE(m.code == code::ok);
        CHECK(m.partner_id != 1);
        partners.insert(m.partner_id);
    }
    CHECK(partners.size() == 20);  // random and never repeated while sessions are open
    // The statement logic runs, planned generically as logic runs it: the random point
    // must be an index condition (a seek), not a filter applied while walking the index.
    pqxx::connection conn(pg.db.url());
    pqxx::nontransaction tx(conn);
    tx.exec("SET plan_cache_mode = force_generic_plan");
    tx.exec(std::string("PREPARE pick AS ") + logic::sql::k_pick_partner_sql);
    std::string plan;
    for (const auto& row : tx.exec("EXPLAIN EXECUTE pick(1, 0.5)")) plan += row[0].as<std::string>() + "\n";
    INFO(plan);
    CHECK(plan.find("Index Cond: (match_key >= ") != std::string::npos);
    CHECK(plan.find("Index Cond: (match_key < ") != std::string::npos);
    CHECK(plan.find("Seq Scan on accounts") == std::string::npos);
}

TEST_CASE("a batch of messages gets msgIds 1, 2, 3 per session, in order, with one inbox row each") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto c = online_account(*s, "c", "e1/3");
    const auto ab = pg.open_session(a, b);
    const auto ac = pg.open_session(a, c);
    REQUIRE(ab > 0);
    REQUIRE(ac > 0);

    std::vector<logic::dialogue_item> items = {
        {ab, a, "r1", "one"}, {ac, c, "x1", "c one"}, {ab, b, "q1", "b one"}, {ab, a, "r2", "two"}, {ac, a, "y1", "a to c"},
    };
    auto out = s->store_dialogues(items, woken);
    REQUIRE(out.size() == 5);
    for (const auto& o : out) CHECK(o.code == code::ok);
    CHECK(out[0].msg_id == 1);
    CHECK(out[2].msg_id == 2);
    CHECK(out[3].msg_id == 3);
    CHECK(out[1].msg_id == 1);
    CHECK(out[4].msg_id == 2);
    CHECK(pg.value("SELECT string_agg(content, ',' ORDER BY msg_id) FROM messages WHERE session_id = " +
                   std::to_string(ab)) == "one,b one,two");
    // Inbox ids follow msgId order within the session, and each message goes to the other member.
    CHECK(pg.value("SELECT string_agg(msg_id::text || '>' || receiver_id, ',' ORDER BY id) FROM inbox "
                   "WHERE kind = inbox_kind('message') AND session_id = " + std::to_string(ab)) ==
          "1>" + std::to_string(b) + ",2>" + std::to_string(a) + ",3>" + std::to_string(b));
    CHECK(pg.value("SELECT last_msg_id FROM session_sequences WHERE session_id = " + std::to_string(ab)) == "3");

    // The next batch continues the numbering.
    auto next = s->store_dialogues({{ab, b, "q2", "b two"}}, woken);
    CHECK(next[0].msg_id == 4);
}

TEST_CASE("a resent requestId returns its first msgId and stores nothing new") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    online_account(*s, "b", "e1/2");
    const auto ab = s->match(a, woken).session_id;
    auto first = s->store_dialogues({{ab, a, "r1", "hello"}}, woken);
    auto again = s->store_dialogues({{ab, a, "r1", "hello"}, {ab, a, "r2", "next"}, {ab, a, "r2", "next"}}, woken);
    CHECK(again[0].msg_id == first[0].msg_id);
    CHECK(again[1].msg_id == 2);
    CHECK(again[2].msg_id == 2);  // a duplicate inside one batch too
    CHECK(pg.count("SELECT count(*) FROM messages") == 2);
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('message')") == 2);
}

TEST_CASE("outsiders and ended sessions are refused and nothing is stored") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto ab = s->match(a, woken).session_id;
    const auto mallory = online_account(*s, "mallory", "e1/3");
    auto out = s->store_dialogues({{ab, mallory, "m1", "let me in"}, {999999, a, "r1", "nowhere"}}, woken);
    CHECK(out[0].code == code::session_closed);
    CHECK(out[1].code == code::session_closed);
    CHECK(pg.count("SELECT count(*) FROM messages") == 0);

    REQUIRE(s->take_offline(b, "e1/2", false, woken));
    auto ended = s->store_dialogues({{ab, a, "r1", "anyone?"}}, woken);
    CHECK(ended[0].code == code::session_closed);
    CHECK(pg.count("SELECT count(*) FROM messages") == 0);
}

TEST_CASE("viewed acks move forward only and notify the partner") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto ab = s->match(a, woken).session_id;
    s->store_dialogues({{ab, a, "r1", "one"}, {ab, a, "r2", "two"}}, woken);

    CHECK(s->viewed_ack(ab, b, 3, woken).code == code::no_data);
    CHECK(s->viewed_ack(ab, b, 2, woken).code == code::ok);
    CHECK(s->viewed_ack(ab, b, 1, woken).code == code::ok);  // behind: fine, but no push
    CHECK(pg.value("SELECT string_agg(receiver_id || ':' || msg_id || ':' || peer_id, ',') FROM inbox WHERE kind = inbox_kind('viewed')") ==
          std::to_string(a) + ":2:" + std::to_string(b));
    const auto outsider = online_account(*s, "o", "e1/3");
    CHECK(s->viewed_ack(ab, outsider, 1, woken).code == code::session_closed);
}

TEST_CASE("ACKs of several accounts in one transaction move each member forward, refusals stay per request") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto ab = s->match(a, woken).session_id;
    s->store_dialogues({{ab, a, "r1", "one"}, {ab, a, "r2", "two"}, {ab, b, "r3", "three"}}, woken);
    const auto outsider = online_account(*s, "o", "e1/3");

    const auto rejected = s->ack_many({{b, {{ab, 2}}}, {outsider, {{ab, 1}}}, {a, {{ab, 3}, {ab, 9}}}});
    REQUIRE(rejected.size() == 3);
    CHECK(rejected[0].empty());
    REQUIRE(rejected[1].size() == 1);
    CHECK(rejected[1][0].code == code::session_closed);
    REQUIRE(rejected[2].size() == 1);  // 3 is fine, 9 does not exist yet
    CHECK(rejected[2][0].code == code::no_data);
    CHECK(rejected[2][0].msg_id == 9);
    CHECK(pg.value("SELECT string_agg(account_id || ':' || acked_up_to, ',' ORDER BY account_id) FROM session_members") ==
          std::to_string(a) + ":3," + std::to_string(b) + ":2");
    // Never backwards.
    CHECK(s->ack_many({{b, {{ab, 1}}}}).front().empty());
    CHECK(pg.value("SELECT acked_up_to FROM session_members WHERE account_id = " + std::to_string(b)) == "2");
}

TEST_CASE("several ACKs of one member in one batch leave it at the highest, whatever their order") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto ab = s->match(a, woken).session_id;
    s->store_dialogues({{ab, a, "r1", "one"}, {ab, a, "r2", "two"}, {ab, a, "r3", "three"}}, woken);

    // ACK frames grouped into one batch: b's oldest first, a's newest first.
    const auto rejected = s->ack_many({{b, {{ab, 1}}}, {b, {{ab, 2}, {ab, 3}}}, {a, {{ab, 3}, {ab, 1}}}});
    for (const auto& r : rejected) CHECK(r.empty());
    CHECK(pg.value("SELECT string_agg(account_id || ':' || acked_up_to, ',' ORDER BY account_id) FROM session_members") ==
          std::to_string(a) + ":3," + std::to_string(b) + ":3");
}

TEST_CASE("going offline ends every session and queues PartnerExit, a stale connection changes nothing") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "e1/1");
    const auto b = online_account(*s, "b", "e1/2");
    const auto c = online_account(*s, "c", "e1/3");
    s->match(a, woken);
    s->match(a, woken);

    CHECK_FALSE(s->take_offline(a, "e1/999", false, woken));  // not a's connection
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 2);

    REQUIRE(s->take_offline(a, "e1/1", false, woken));
    CHECK(pg.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 0);
    CHECK(pg.value("SELECT string_agg(receiver_id::text, ',' ORDER BY receiver_id) FROM inbox WHERE kind = inbox_kind('partner_exit') AND peer_id = " +
                   std::to_string(a)) == std::to_string(b) + "," + std::to_string(c));
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(a)) == "f");
}

TEST_CASE("reconnect needs the right token, rebinds, lists open sessions and names the replaced connection") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "alice", "e1/1", "right-token");
    const auto b = online_account(*s, "bob", "e1/2");
    const auto ab = s->match(a, woken).session_id;

    CHECK(s->reconnect(a, util::sha256_hex("wrong-token"), {"b2", "e2/1"}, woken).code == code::bad_token);
    CHECK(s->reconnect(424242, util::sha256_hex("right-token"), {"b2", "e2/1"}, woken).code == code::bad_token);

    auto ok = s->reconnect(a, util::sha256_hex("right-token"), {"b2", "e2/1"}, woken);
    REQUIRE(ok.code == code::ok);
    CHECK(ok.nickname == "alice");
    REQUIRE(ok.sessions.size() == 1);
    CHECK(ok.sessions[0].session_id == ab);
    CHECK(ok.sessions[0].partner_id == b);
    CHECK(ok.sessions[0].partner_name == "bob");
    REQUIRE(ok.replaced_broker);
    CHECK(*ok.replaced_broker == "b1");
    CHECK(ok.replaced_conn_key == "e1/1");
    CHECK(pg.value("SELECT broker_id, conn_key FROM accounts WHERE id = " + std::to_string(a)) == "b2|e2/1");

    // The old connection's close is stale now and must not take alice offline.
    CHECK_FALSE(s->take_offline(a, "e1/1", false, woken));
    // LOGOUT revokes the token.
    REQUIRE(s->take_offline(a, "e2/1", true, woken));
    CHECK(s->reconnect(a, util::sha256_hex("right-token"), {"b2", "e2/2"}, woken).code == code::bad_token);
}

TEST_CASE("a restarted broker's older accounts and a silent broker's accounts go offline") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto ghost = online_account(*s, "ghost", "old/1");
    const auto fresh = online_account(*s, "fresh", "new/1");
    CHECK(s->broker_hello("b1", "new", woken) == 1);
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(ghost)) == "f");
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(fresh)) == "t");

    s->broker_heartbeat("b1", "new");
    std::vector<std::string> reaped;
    CHECK(s->reap_dead_brokers(std::chrono::seconds(30), woken, reaped) == 0);
    CHECK(reaped.empty());
    pg.db.query("UPDATE brokers SET seen_at = now() - interval '1 minute'");
    CHECK(s->reap_dead_brokers(std::chrono::seconds(30), woken, reaped) == 1);
    CHECK(reaped == std::vector<std::string>{"b1"});
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(fresh)) == "f");
    CHECK(pg.count("SELECT count(*) FROM brokers") == 0);
}

TEST_CASE("a broker that dies before any hello or heartbeat still has its accounts reaped") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "early", "ep9/1");  // through broker b1, never announced
    CHECK(pg.value("SELECT epoch FROM brokers WHERE id = 'b1'") == "ep9");
    pg.db.query("UPDATE brokers SET seen_at = now() - interval '1 minute'");
    std::vector<std::string> reaped;
    CHECK(s->reap_dead_brokers(std::chrono::seconds(30), woken, reaped) == 1);
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(a)) == "f");
}

TEST_CASE("an account wrongly marked away comes back on its still-open connection through resume") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online_account(*s, "a", "ep1/1");
    const auto b = online_account(*s, "b", "ep1/2");
    const auto ab = pg.open_session(a, b);
    s->store_dialogues({{ab, b, "r1", "hello"}}, woken);
    REQUIRE(s->connection_lost(a, "ep1/1", woken));  // e.g. its broker was judged dead
    CHECK_FALSE(s->connection_lost(a, "ep1/1", woken));  // a second report does not restart the grace
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(a)) == "f");

    logic::resume_page page;
    CHECK(s->resume(a, "ep1/999", {}, page, woken) == code::not_logged_in);  // another connection
    REQUIRE(s->resume(a, "ep1/1", {}, page, woken) == code::ok);
    CHECK(pg.value("SELECT online FROM accounts WHERE id = " + std::to_string(a)) == "t");
    REQUIRE(page.deliveries.size() == 1);
    CHECK(page.deliveries[0].msg_id() == 1);
    CHECK(pg.count("SELECT count(*) FROM inbox WHERE kind = inbox_kind('partner_back') AND receiver_id = " + std::to_string(b)) == 1);
}
