#include "tests/support/postgres.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "deploy/stack/roles.hpp"
#include "tests/support/skip.hpp"

namespace chat::test {

postgres_server& postgres_server::shared() {
    static std::unique_ptr<postgres_server> instance(new postgres_server());
    return *instance;
}

postgres_server::postgres_server() : work_("chat-test-pg", /*keepable=*/false) {
    if (const char* url = std::getenv("CHAT_TEST_PG_URL"); url != nullptr && *url != '\0') {
        admin_url_ = url;
    } else if (const char* dir = std::getenv("CHAT_TEST_STACK_DIR"); dir != nullptr && *dir != '\0') {
        std::ifstream in(std::filesystem::path(dir) / "state.json");
        if (!in) throw std::runtime_error(std::string("CHAT_TEST_STACK_DIR=") + dir + " holds no state.json: did the "
                                          "fixture test postgres.start run?");
        auto state = nlohmann::json::parse(in);
        admin_url_ = state.at("postgres").at(0).at("url").get<std::string>();
        passfile_ = state.value("passfile", std::string());
    } else {
        if (stack::postgres_bin_dir().empty())
            skip_test("no PostgreSQL: CHAT_TEST_PG_URL and CHAT_TEST_STACK_DIR are unset and there are "
                      "no server binaries in /usr/lib/postgresql/*/bin to start a private cluster");
        // The server may run as user postgres, who must pass through the temp dir.
        std::filesystem::permissions(work_.path(),
                                     std::filesystem::perms::group_exec | std::filesystem::perms::others_exec,
                                     std::filesystem::perm_options::add);
        stack::postgres_options options;
        options.dir = work_.path() / "postgres";
        private_ = std::make_unique<stack::postgres_node>(options);
        admin_url_ = private_->url_for("postgres");
    }
    // The variable promises a server: if it does not answer, that is a failure, not a skip.
    psql("SELECT 1");
    if (passfile_.empty()) {
        // The services' roles must log in (migrations make them NOLOGIN when missing).
        stack::role_secrets secrets(work_.path() / "secrets");
        stack::create_login_roles(admin_url_, secrets, work_.path());
        passfile_ = secrets.passfile();
    }
}

postgres_server::~postgres_server() = default;

std::string postgres_server::url_for(const std::string& database) const {
    return stack::url_with_database(admin_url_, database);
}

std::string postgres_server::psql(const std::string& sql, const std::string& database) const {
    return stack::psql(url_for(database), sql, work_.path());
}

scratch_database::scratch_database(const std::filesystem::path& work_dir, bool migrate)
    : server_(postgres_server::shared()) {
    static std::atomic<int> counter{0};
    std::random_device random;
    name_ = "chat_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(random() % 100000);
    server_.psql("CREATE DATABASE " + name_);
    if (!migrate) return;
    try {
        stack::migrate(url(), work_dir / ("migrate-" + name_ + ".log"));
    } catch (...) {
        try {
            server_.psql("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (...) {
        }
        throw;
    }
}

scratch_database::~scratch_database() {
    try {
        server_.psql("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
        // A leftover scratch database is harmless; a throwing destructor is not.
    }
}

std::string scratch_database::url() const { return server_.url_for(name_); }

std::string scratch_database::url_as(const std::string& role) const {
    return stack::url_as(url(), role, server_.passfile());
}

std::string scratch_database::query(const std::string& sql) const { return server_.psql(sql, name_); }

}  // namespace chat::test
