#include "bench/ceiling/scratch_database.hpp"

#include <unistd.h>

#include <pqxx/pqxx>

#include "bench/ceiling/pg_url.hpp"
#include "shared/db/migrations.hpp"
#include "shared/util/token.hpp"

namespace chat::bench::ceiling {
namespace {

void run_admin(const std::string& admin_url, const std::string& sql) {
    pqxx::connection admin(admin_url);
    pqxx::nontransaction(admin).exec(sql);  // CREATE/DROP DATABASE refuse a transaction block
}

}  // namespace

scratch_database::scratch_database(const std::string& admin_url,
                                   const std::filesystem::path& migrations)
    : admin_url_(admin_url),
      name_("chat_ceiling_" + std::to_string(::getpid()) + "_" + util::random_hex(3)),
      url_(with_database(admin_url, name_)) {
    run_admin(admin_url_, "CREATE DATABASE " + name_);
    try {
        version_ = db::migrate(url_, migrations).current_version;
    } catch (...) {
        run_admin(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        throw;
    }
}

scratch_database::~scratch_database() {
    try {
        run_admin(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
        // A leftover scratch database is harmless; a throwing destructor is not.
    }
}

}  // namespace chat::bench::ceiling
