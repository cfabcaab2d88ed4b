#include "shared/db/migrations.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "shared/util/token.hpp"

namespace chat::db {
namespace {

// Any constant works; it only has to be the same for every migrator.
constexpr long long k_migration_lock = 0x636861746d6967;  // "chatmig"

constexpr const char* k_create_table = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
))sql";

}  // namespace

std::vector<migration_file> load_migrations(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir))
        throw migration_error(fmt::format("migrations directory {} does not exist", dir.string()));
    static const std::regex pattern(R"((\d{4})_([A-Za-z0-9_]+)\.sql)");
    std::map<int, migration_file> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const auto file_name = entry.path().filename().string();
        std::smatch m;
        if (!std::regex_match(file_name, m, pattern)) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream sql;
        sql << in.rdbuf();
        migration_file f{std::stoi(m[1]), m[2], sql.str(), util::sha256_hex(sql.str())};
        if (!files.emplace(f.version, f).second)
            throw migration_error(fmt::format("two migration files have version {}", f.version));
    }
    std::vector<migration_file> out;
    int expected = 1;
    for (auto& [version, f] : files) {
        if (version != expected)
            throw migration_error(fmt::format("migration versions must be 1, 2, 3...: {} is missing", expected));
        out.push_back(std::move(f));
        ++expected;
    }
    return out;
}

migration_report migrate(const std::string& url, const std::filesystem::path& dir) {
    const auto files = load_migrations(dir);
    pqxx::connection conn(url);
    {
        pqxx::nontransaction tx(conn);
        tx.exec(fmt::format("SELECT pg_advisory_lock({})", k_migration_lock));
        tx.exec(k_create_table);
    }
    std::map<int, std::string> applied;
    {
        pqxx::nontransaction tx(conn);
        for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations"))
            applied[row[0].as<int>()] = row[1].as<std::string>();
    }
    for (const auto& [version, checksum] : applied) {
        if (version > static_cast<int>(files.size()))
            throw migration_error(fmt::format(
                "the database is at schema version {} but the newest migration file is {}: refusing to run "
                "an older release against a newer database",
                applied.rbegin()->first, files.size()));
        const auto& f = files[version - 1];
        if (f.checksum != checksum)
            throw migration_error(fmt::format(
                "migration {:04d}_{} was changed after it was applied; write a new migration instead", version,
                f.name));
    }
    migration_report report;
    for (const auto& f : files) {
        if (applied.count(f.version)) continue;
        pqxx::work tx(conn);
        tx.exec(f.sql);
        tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", f.version,
                       f.name, f.checksum);
        tx.commit();
        ++report.applied;
    }
    report.current_version = static_cast<int>(files.size());
    pqxx::nontransaction(conn).exec(fmt::format("SELECT pg_advisory_unlock({})", k_migration_lock));
    return report;
}

}  // namespace chat::db
