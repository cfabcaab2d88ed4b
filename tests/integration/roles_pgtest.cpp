// The database roles against a real PostgreSQL: migrations/0005's grants let each
// service do its work (logic's store and the dispatcher's drain run as their roles) and
// nothing else. The e2e tests, whose services connect as these roles, cover the rest of
// what each may do.
#include <catch2/catch.hpp>
#include <set>

#include "deploy/stack/roles.hpp"
#include "services/dispatcher/src/sql.hpp"
#include "shared/db/connect.hpp"
#include "shared/util/token.hpp"
#include "tests/integration/pg_fixture.hpp"

using namespace chat;

namespace {

constexpr const char* k_denied = "42501";  // insufficient_privilege

/// Runs `sql` in a transaction of its own as the user of `url`: the SQLSTATE of its
/// failure, "" when it succeeded (and was committed).
std::string sqlstate_of(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    try {
        pqxx::work tx(conn);
        tx.exec(sql);
        tx.commit();
        return "";
    } catch (const pqxx::insufficient_privilege&) {
        return k_denied;  // libpqxx 6 leaves sqlstate() empty here
    } catch (const pqxx::sql_error& e) {
        return e.sqlstate().empty() ? std::string("error: ") + e.what() : e.sqlstate();
    }
}

/// Two accounts in a session with `n` messages stored by logic's store (as chat_logic).
struct conversation {
    std::int64_t a = 0, b = 0, session = 0;
    conversation(const test::pg_fixture& pg, int n) {
        auto s = pg.make_store();
        logic::partition_set woken;
        a = s->create_account("alice", util::sha256_hex("t"), {"b1", "e/1", ""});
        b = s->create_account("bob", util::sha256_hex("t"), {"b1", "e/2", ""});
        session = s->match({a, {}}, woken).session_id;
        std::vector<logic::dialogue_item> items;
        for (int i = 0; i < n; ++i) items.push_back({session, a, "r" + std::to_string(i), "hi"});
        s->store_dialogues(items, woken);
    }
};

}  // namespace

TEST_CASE("the dispatcher's role drains and deletes the inbox and can do nothing else") {
    test::pg_fixture pg;
    conversation c(pg, 3);
    const auto url = pg.db.url_as(stack::k_dispatcher_role);
    INFO(url);

    // Its work: the drain statement and the delete, as the dispatcher prepares them.
    {
        pqxx::connection conn(url);
        dispatcher::sql::prepare_all(conn);
        pqxx::work tx(conn);
        std::vector<int> partitions(32);
        for (int p = 0; p < 32; ++p) partitions[p] = p;
        const auto rows = tx.exec_prepared(dispatcher::sql::k_drain, db::bigint_array(partitions), 100);
        CHECK(rows.size() == 4);  // NewSession for bob, three messages
        std::vector<std::int64_t> ids;
        for (const auto& row : rows) ids.push_back(row[0].as<std::int64_t>());
        CHECK(rows[1][9].as<std::string>() == "hi");
        tx.exec_prepared(dispatcher::sql::k_delete_delivered, db::bigint_array(ids));
        CHECK(tx.exec_prepared1(dispatcher::sql::k_try_lock, dispatcher::sql::k_partition_class, 1)[0].as<bool>());
        tx.commit();
    }
    CHECK(pg.count("SELECT count(*) FROM inbox") == 0);

    // Not its work: writing messages or routing, reading tokens, changing the schema.
    const auto s = std::to_string(c.session), a = std::to_string(c.a), b = std::to_string(c.b);
    CHECK(sqlstate_of(url, "INSERT INTO messages (session_id, msg_id, sender_id, request_id, content) VALUES (" + s +
                               ", 99, " + a + ", 'x', 'forged')") == k_denied);
    CHECK(sqlstate_of(url, "INSERT INTO inbox (session_id, receiver_id, kind) VALUES (" + s + ", " + b + ", 1)") ==
          k_denied);
    CHECK(sqlstate_of(url, "UPDATE accounts SET broker_id = 'b9'") == k_denied);
    CHECK(sqlstate_of(url, "SELECT token_hash FROM accounts") == k_denied);
    CHECK(sqlstate_of(url, "SELECT request_id FROM messages") == k_denied);
    CHECK(sqlstate_of(url, "DELETE FROM messages") == k_denied);
    CHECK(sqlstate_of(url, "TRUNCATE inbox") == k_denied);
    CHECK(sqlstate_of(url, "DROP TABLE inbox") == k_denied);
    CHECK(sqlstate_of(url, "ALTER TABLE inbox ADD COLUMN x int") == k_denied);
    CHECK(sqlstate_of(url, "CREATE TABLE mine (x int)") == k_denied);
    CHECK(sqlstate_of(url, "SELECT * FROM store_dialogues('{1}', '{1}', '{x}', '{y}')") == k_denied);
    CHECK(sqlstate_of(url, "SELECT * FROM schema_migrations") == k_denied);
    CHECK(pg.count("SELECT count(*) FROM messages") == 3);
}

TEST_CASE("logic's role stores conversations but cannot change the schema or erase history") {
    test::pg_fixture pg;
    conversation c(pg, 2);  // its work, through logic's store (see also store_pgtest)
    CHECK(pg.count("SELECT count(*) FROM messages") == 2);
    const auto url = pg.db.url_as(stack::k_logic_role);
    INFO(url);

    CHECK(sqlstate_of(url, "ALTER TABLE messages ADD COLUMN x int") == k_denied);
    CHECK(sqlstate_of(url, "ALTER TABLE accounts DROP COLUMN token_hash") == k_denied);
    CHECK(sqlstate_of(url, "DROP TABLE messages") == k_denied);
    CHECK(sqlstate_of(url, "DROP FUNCTION store_dialogues(bigint[], bigint[], text[], text[])") == k_denied);
    CHECK(sqlstate_of(url, "CREATE TABLE mine (x int)") == k_denied);
    CHECK(sqlstate_of(url, "TRUNCATE messages") == k_denied);
    CHECK(sqlstate_of(url, "DELETE FROM messages") == k_denied);
    CHECK(sqlstate_of(url, "UPDATE messages SET content = 'rewritten'") == k_denied);
    // It writes the inbox; only the dispatcher reads and empties it.
    CHECK(sqlstate_of(url, "SELECT receiver_id FROM inbox") == k_denied);
    CHECK(sqlstate_of(url, "DELETE FROM inbox") == k_denied);
    CHECK(sqlstate_of(url, "SELECT * FROM schema_migrations") == k_denied);
    CHECK(pg.count("SELECT count(*) FROM messages") == 2);
    CHECK(pg.value("SELECT string_agg(content, ',') FROM messages") == "hi,hi");
}

TEST_CASE("only the services' roles may connect to the database, and the schema belongs to its migrator") {
    test::pg_fixture pg;
    // No entry for PUBLIC ("=...") in the database's ACL: the default CONNECT and TEMP are gone.
    const auto acl = pg.value("SELECT datacl::text FROM pg_database WHERE datname = current_database()");
    INFO(acl);
    CHECK(acl.find("{=") == std::string::npos);
    CHECK(acl.find(",=") == std::string::npos);
    CHECK(acl.find("chat_logic=c/") != std::string::npos);
    CHECK(acl.find("chat_dispatcher=c/") != std::string::npos);
    // Functions: no EXECUTE for PUBLIC either.
    CHECK(pg.value("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                   "WHERE n.nspname = 'public' AND (p.proacl IS NULL OR p.proacl::text LIKE '%{=X%' "
                   "OR p.proacl::text LIKE '%,=X%')") == "0");
    // The services own nothing.
    CHECK(pg.value("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) IN ('chat_logic', 'chat_dispatcher')") ==
          "0");
}
