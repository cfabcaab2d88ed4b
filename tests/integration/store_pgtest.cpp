// logic's data layer against a real PostgreSQL: message
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
    return s.create_account(nick, util::sha256_hex(token), {"b1", conn_key, ""});
}

}  // namespace

TEST_CASE("create_account stores the token only as its hash and routes the account") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    const auto id = s->create_account("alice", util::sha256_hex("secret-token"), {"b1", "e1/1", ""});
    CHECK(id > 0);
    CHECK(pg.value("SELECT token_hash FROM accounts WHERE id = " + std::to_string(id)) ==
          util::sha256_hex("secret-token"));
    CHECK(pg.count("SELECT count(*) FROM accounts WHERE token_hash LIKE '%secret%'") == 0);
    CHECK(pg.value("SELECT online, broker_id, conn_key FROM accounts WHERE id = " + std::to_string(id)) == "t|b1|e1/1");
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
    const auto ab = s->match({a, {}}, woken).session_id;
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
    const auto ab = s->match({a, {}}, woken).session_id;
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
    const auto ab = s->match({a, {}}, woken).session_id;
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
    const auto ab = s->match({a, {}}, woken).session_id;
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
    const auto ab = s->match({a, {}}, woken).session_id;
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
    s->match({a, {}}, woken);
    s->match({a, {}}, woken);

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
    const auto ab = s->match({a, {}}, woken).session_id;

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
