#pragma once

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "deploy/stack/roles.hpp"
#include "services/logic/src/store.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/stack.hpp"

namespace chat::test {

/// A scratch database with the schema applied, and stores (logic's data layer) on it.
struct pg_fixture {
    temp_dir dir{"chat-pgtest"};
    scratch_database db{dir.path()};

    /// logic's store, connected as logic's role: the grants of migrations/0005 must do.
    std::unique_ptr<logic::store> make_store(logic::match_policy matching = {}) const {
        return std::make_unique<logic::store>(std::make_unique<pqxx::connection>(db.url_as(stack::k_logic_role)),
                                              logic::presence_policy{}, matching);
    }
    /// One value from SQL, as text.
    std::string value(const std::string& sql) const {
        auto out = db.query(sql);
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out;
    }
    long long count(const std::string& sql) const { return std::stoll(value(sql)); }

    /// Opens a session between two given accounts directly (MATCH picks at random).
    std::int64_t open_session(std::int64_t a, std::int64_t b) const {
        const auto lo = std::to_string(std::min(a, b)), hi = std::to_string(std::max(a, b));
        return std::stoll(value("WITH s AS (INSERT INTO sessions (account_lo, account_hi) VALUES (" + lo + ", " + hi +
                                ") RETURNING id), m AS (INSERT INTO session_members (session_id, account_id) "
                                "SELECT id, " + lo + " FROM s UNION ALL SELECT id, " + hi + " FROM s), "
                                "q AS (INSERT INTO session_sequences (session_id) SELECT id FROM s) SELECT id FROM s"));
    }
};

}  // namespace chat::test
