#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace chat::db {

/// The database cannot be migrated safely (ahead of the files, or an applied file changed).
struct migration_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One numbered file `NNNN_name.sql`.
struct migration_file {
    int version;
    std::string name;
    std::string sql;
    std::string checksum;  // SHA-256 of the file's bytes
};

/// Reads `dir`, sorted by version; refuses gaps and duplicate versions.
std::vector<migration_file> load_migrations(const std::filesystem::path& dir);

struct migration_report {
    int applied = 0;          // files applied by this run
    int current_version = 0;  // the schema version afterwards
};

/// Applies every file not yet applied, each in its own transaction, and records it in
/// `schema_migrations`. Refuses a database that has a version the files do not, or
/// whose applied file changed since. Concurrent runs are serialized by an advisory lock.
migration_report migrate(const std::string& url, const std::filesystem::path& dir);

}  // namespace chat::db
