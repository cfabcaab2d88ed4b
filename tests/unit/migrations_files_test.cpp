#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "shared/db/migrations.hpp"
#include "shared/db/migrations_dir.hpp"

namespace fs = std::filesystem;
using chat::db::load_migrations;
using chat::db::migration_error;

namespace {

struct migration_dir {
    fs::path dir = fs::temp_directory_path() / ("chat-migrations-" + std::to_string(::getpid()));
    migration_dir() { fs::create_directories(dir); }
    ~migration_dir() { fs::remove_all(dir); }
    void add(const std::string& name, const std::string& sql) { std::ofstream(dir / name) << sql; }
};

}  // namespace

TEST_CASE("the project's migrations load in order") {
    const auto files = load_migrations(fs::path(CHAT_SOURCE_DIR) / "migrations");
    REQUIRE_FALSE(files.empty());
    for (std::size_t i = 0; i < files.size(); ++i) CHECK(files[i].version == static_cast<int>(i) + 1);
    CHECK(files[0].checksum.size() == 64);
}

TEST_CASE("migration files must be numbered 1, 2, 3 without gaps or duplicates") {
    migration_dir m;
    m.add("0001_a.sql", "SELECT 1;");
    m.add("0003_c.sql", "SELECT 3;");
    CHECK_THROWS_AS(load_migrations(m.dir), migration_error);
    m.add("0002_b.sql", "SELECT 2;");
    CHECK(load_migrations(m.dir).size() == 3);
    m.add("0002_again.sql", "SELECT 2;");
    CHECK_THROWS_AS(load_migrations(m.dir), migration_error);
}

TEST_CASE("a missing migrations directory is an error") {
    CHECK_THROWS_AS(load_migrations("/nonexistent/migrations"), migration_error);
}

TEST_CASE("chat migrate finds the installed migrations beside its bin directory") {
    migration_dir root;  // a prefix: bin/chat and share/chat/migrations, as the package lays them out
    fs::create_directories(root.dir / "bin");
    CHECK(chat::db::default_migrations_dir(root.dir / "bin" / "chat") == "migrations");  // the source tree's
    fs::create_directories(root.dir / "share" / "chat" / "migrations");
    CHECK(chat::db::default_migrations_dir(root.dir / "bin" / "chat") == root.dir / "share" / "chat" / "migrations");
    CHECK(chat::db::default_migrations_dir({}) == "migrations");
}
