// chat migrate's rules against a real PostgreSQL.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "shared/db/inbox_kind.hpp"
#include "shared/db/migrations.hpp"
#include "tests/support/stack.hpp"
#include "tests/support/postgres.hpp"

namespace fs = std::filesystem;
using chat::db::migrate;
using chat::db::migration_error;

TEST_CASE("a fresh database reaches the newest schema and a second run applies nothing") {
    chat::test::temp_dir dir("chat-migrate");
    chat::test::scratch_database db(dir.path(), /*migrate=*/false);
    const auto files = fs::path(CHAT_SOURCE_DIR) / "migrations";
    auto first = migrate(db.url(), files);
    CHECK(first.applied == first.current_version);
    CHECK(first.current_version >= 1);
    CHECK(db.query("SELECT count(*) FROM accounts").find('0') != std::string::npos);
    auto second = migrate(db.url(), files);
    CHECK(second.applied == 0);
    CHECK(second.current_version == first.current_version);
}

TEST_CASE("an edited migration and a database ahead of the files are refused") {
    chat::test::temp_dir dir("chat-migrate");
    chat::test::scratch_database db(dir.path(), /*migrate=*/false);
    const auto files = dir / "migrations";
    fs::create_directories(files);
    std::ofstream(files / "0001_first.sql") << "CREATE TABLE one (id int);";
    std::ofstream(files / "0002_second.sql") << "CREATE TABLE two (id int);";
    CHECK(migrate(db.url(), files).applied == 2);

    std::ofstream(files / "0001_first.sql") << "CREATE TABLE one (id bigint);";
    CHECK_THROWS_AS(migrate(db.url(), files), migration_error);
    std::ofstream(files / "0001_first.sql") << "CREATE TABLE one (id int);";

    fs::remove(files / "0002_second.sql");
    CHECK_THROWS_AS(migrate(db.url(), files), migration_error);
}

TEST_CASE("SQL's inbox kinds are C++'s, and no other kind can be stored") {
    chat::test::temp_dir dir("chat-migrate");
    chat::test::scratch_database db(dir.path());
    for (const auto& [kind, name] : chat::db::k_inbox_kinds) {
        INFO(name);
        CHECK(db.query("SELECT inbox_kind('" + std::string(name) + "')") ==
              std::to_string(static_cast<int>(kind)));
    }
    CHECK(db.query("SELECT inbox_kind('nothing') IS NULL") == "t");
    // Every number the CHECK constraint admits has a name, and no other number is admitted.
    for (int stored = -1; stored <= 8; ++stored) {
        INFO(stored);
        const auto insert = "INSERT INTO inbox (session_id, receiver_id, kind) VALUES (1, 1, " + std::to_string(stored) + ")";
        if (chat::db::inbox_kind_of(stored))
            CHECK_NOTHROW(db.query(insert));
        else
            CHECK_THROWS_WITH(db.query(insert), Catch::Contains("inbox_kind_known"));
    }
}
