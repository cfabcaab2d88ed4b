// The admin API's store on real PostgreSQL (migrations/0010 through logic's role): live
// numbers, reports with their evidence, resolving, bans and lifting them, as matching
// then sees them.
#include <atomic>
#include <catch2/catch.hpp>

#include "services/logic/src/moderation_store.hpp"
#include "shared/util/token.hpp"
#include "tests/integration/pg_fixture.hpp"

using namespace chat;
using chat::logic::partition_set;
using chat::logic::resolve_outcome;
using chat::wire::code;
using nlohmann::json;

namespace {

std::int64_t online(logic::store& s, const std::string& nick, const std::string& broker = "b1",
                    const std::string& address = "") {
    static std::atomic<int> next_conn{1};
    return s.create_account(nick, util::sha256_hex("t"), {broker, "e1/" + std::to_string(next_conn++), address});
}

std::string id(std::int64_t v) { return std::to_string(v); }

// The store as logic's admin listener makes it: logic's role, its grants only.
logic::pg_moderation_store moderation(const test::pg_fixture& pg) {
    return logic::pg_moderation_store(pg.db.url_as(stack::k_logic_role));
}

}  // namespace

TEST_CASE("moderation: live numbers in all and per live broker") {
    test::pg_fixture pg;
    pg.value("INSERT INTO brokers (id, epoch) VALUES ('b1', 'e'), ('b2', 'e'), ('b3', 'e') RETURNING 1");
    auto s = pg.make_store();
    partition_set woken;
    const auto a = online(*s, "a", "b1"), b = online(*s, "b", "b2"), c = online(*s, "c", "b1");
    online(*s, "d", "b2");
    pg.open_session(a, b);  // one conversation across b1 and b2
    pg.open_session(a, c);  // one on b1 alone
    const auto lonely = online(*s, "lonely", "b2");
    REQUIRE(s->match({lonely, {"chess"}}, woken).code == code::waiting);  // nobody else likes chess
    const auto away = online(*s, "away", "b3");
    pg.value("INSERT INTO match_waiters (account_id, takes_anyone_at, next_try) VALUES (" + id(away) +
             ", now(), now() + interval '1 hour') RETURNING 1");
    pg.value("UPDATE accounts SET online = false WHERE id = " + id(away) + " RETURNING 1");  // waits paused

    auto store = moderation(pg);
    const auto stats = store.stats();
    INFO(stats.dump());
    CHECK(stats["online"] == 5);
    CHECK(stats["waiting"] == 1);  // the one away waits paused
    CHECK(stats["openConversations"] == 2);
    REQUIRE(stats["brokers"].size() == 3);
    CHECK(stats["brokers"][0] == json{{"brokerId", "b1"}, {"online", 2}, {"waiting", 0}, {"openConversations", 2}});
    CHECK(stats["brokers"][1] == json{{"brokerId", "b2"}, {"online", 3}, {"waiting", 1}, {"openConversations", 1}});
    CHECK(stats["brokers"][2] == json{{"brokerId", "b3"}, {"online", 0}, {"waiting", 0}, {"openConversations", 0}});
}

TEST_CASE("moderation: an open report with its messages, resolved once, then listed as resolved") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto troll = online(*s, "troll", "b1", "10.0.0.9");
    const auto victim = online(*s, "victim", "b1", "10.0.1.1");
    const auto session = pg.open_session(victim, troll);
    s->store_dialogues({{session, troll, "m1", "you are dumb"}, {session, victim, "m2", "bye"}}, woken);
    REQUIRE(s->block(session, victim, logic::report_details{"harassment", "insults"}, woken) == code::ok);

    auto store = moderation(pg);
    const auto open = store.reports("open", 100)["reports"];
    REQUIRE(open.size() == 1);
    const auto& r = open[0];
    INFO(r.dump());
    CHECK(r["reason"] == "harassment");
    CHECK(r["text"] == "insults");
    CHECK(r["sessionId"] == session);
    CHECK(r["reporter"] == json{{"accountId", victim}, {"nickName", "victim"}, {"address", "10.0.1.1"}});
    CHECK(r["reported"]["accountId"] == troll);
    CHECK(r["reported"]["nickName"] == "troll");
    CHECK(r["reported"]["address"] == "10.0.0.9");
    CHECK(r["reported"]["reportCount"] == 1);
    CHECK(r["reported"]["bannedUntil"].is_null());
    REQUIRE(r["messages"].size() == 2);
    CHECK(r["messages"][0]["content"] == "you are dumb");
    CHECK(r["messages"][0]["senderId"] == troll);
    CHECK(r["messages"][1]["content"] == "bye");
    CHECK(r["resolvedAt"].is_null());
    CHECK(store.reports("resolved", 100)["reports"].empty());

    const auto report_id = r["id"].get<std::int64_t>();
    auto [outcome, resolved] = store.resolve(report_id, "dismissed", "just rude");
    CHECK(outcome == resolve_outcome::resolved);
    CHECK(resolved["resolution"] == "dismissed");
    CHECK(resolved["note"] == "just rude");
    CHECK_FALSE(resolved["resolvedAt"].is_null());
    // Once only: the second answer says so and changes nothing.
    auto [again, unchanged] = store.resolve(report_id, "banned", "");
    CHECK(again == resolve_outcome::settled_before);
    CHECK(unchanged["resolution"] == "dismissed");
    CHECK(store.resolve(report_id + 100, "banned", "").first == resolve_outcome::unknown);

    CHECK(store.reports("open", 100)["reports"].empty());
    CHECK(store.reports("resolved", 100)["reports"].size() == 1);
    CHECK(store.reports("all", 100)["reports"].size() == 1);
    // The evidence is still the copy made at the report.
    CHECK(pg.value("SELECT resolution || '|' || jsonb_array_length(messages) FROM reports") == "dismissed|2");
}

TEST_CASE("moderation: a ban keeps the account from matching and out of the pool until it is lifted") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto troll = online(*s, "troll", "b1", "10.0.0.9");
    REQUIRE(s->match({troll, {"cats"}}, woken).code == code::waiting);
    auto store = moderation(pg);

    CHECK_FALSE(store.ban({troll + 1000, std::nullopt, 3600, "nobody"}));  // unknown account
    CHECK(pg.count("SELECT count(*) FROM bans") == 0);

    const auto ban = store.ban({troll, std::nullopt, 3600, "report 1: spam"});
    REQUIRE(ban);
    INFO(ban->dump());
    CHECK((*ban)["accountId"] == troll);
    CHECK((*ban)["nickName"] == "troll");
    CHECK((*ban)["address"].is_null());
    CHECK((*ban)["reason"] == "report 1: spam");
    CHECK((*ban)["createdBy"] == "moderator");
    CHECK(pg.count("SELECT count(*) FROM match_waiters") == 0);  // no longer waiting
    CHECK(pg.value("SELECT until BETWEEN now() + interval '59 min' AND now() + interval '61 min' FROM bans") == "t");
    const auto banned = s->match({troll, {}}, woken);
    CHECK(banned.code == code::banned);
    CHECK_FALSE(banned.banned_until.empty());
    // Only the account: its address is free for others.
    const auto neighbour = online(*s, "neighbour", "b1", "10.0.0.9");
    CHECK(s->match({neighbour, {}}, woken).code == code::waiting);
    REQUIRE(store.bans()["bans"].size() == 1);
    CHECK(store.bans()["bans"][0]["id"] == (*ban)["id"]);

    const auto lifted = store.lift((*ban)["id"].get<std::int64_t>());
    REQUIRE(lifted);
    CHECK_FALSE((*lifted)["liftedAt"].is_null());
    CHECK(store.bans()["bans"].empty());
    CHECK_FALSE(store.lift((*ban)["id"].get<std::int64_t>()));  // not in force any more
    CHECK(s->match({troll, {}}, woken).code == code::ok);  // paired with the neighbour who waits
}

TEST_CASE("moderation: a ban by address covers every account from there, new ones too") {
    test::pg_fixture pg;
    auto s = pg.make_store();
    partition_set woken;
    const auto first = online(*s, "first", "b1", "192.0.2.7");
    REQUIRE(s->match({first, {"x"}}, woken).code == code::waiting);
    auto store = moderation(pg);
    const auto ban = store.ban({std::nullopt, std::string("192.0.2.7"), 600, "bot farm"});
    REQUIRE(ban);
    CHECK((*ban)["accountId"].is_null());
    CHECK((*ban)["address"] == "192.0.2.7");
    CHECK(pg.count("SELECT count(*) FROM match_waiters") == 0);
    CHECK(s->match({first, {}}, woken).code == code::banned);
    const auto fresh = online(*s, "fresh", "b1", "192.0.2.7");
    CHECK(s->match({fresh, {}}, woken).code == code::banned);
    const auto elsewhere = online(*s, "elsewhere", "b1", "192.0.2.8");
    CHECK(s->match({elsewhere, {}}, woken).code == code::waiting);  // nobody pickable: the banned are not
}

TEST_CASE("moderation: logic's role runs the admin functions and still cannot write reports or bans itself") {
    test::pg_fixture pg;
    pqxx::connection logic(pg.db.url_as(stack::k_logic_role));
    pqxx::work tx(logic);
    CHECK_THROWS_AS(tx.exec("UPDATE reports SET resolution = 'dismissed'"), pqxx::insufficient_privilege);
}
