#pragma once

#include <string>

namespace chat::bench::ceiling {

/// The same PostgreSQL connection string pointing at database `name`: a URI
/// (postgresql://...) gets its path replaced, keeping any ?parameters; a keyword/value
/// string ("host=... user=...") gets dbname appended (the last one wins in libpq).
std::string with_database(const std::string& url, const std::string& name);

}  // namespace chat::bench::ceiling
