#include "support/postgres.hpp"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "support/file_util.hpp"
#include "support/free_port.hpp"
#include "support/paths.hpp"
#include "support/skip.hpp"
#include "support/wait.hpp"

namespace chat::test {
namespace {

// PITFALLS: /usr/local/bin/initdb and friends may exist and belong to no package.
std::filesystem::path postgres_bin_dir() {
    for (const char* version : {"15", "16", "17", "14", "13"}) {
        std::filesystem::path dir = std::string("/usr/lib/postgresql/") + version + "/bin";
        if (::access((dir / "initdb").c_str(), X_OK) == 0) return dir;
    }
    return {};
}

std::filesystem::path psql_program(const std::filesystem::path& bin_dir) {
    if (!bin_dir.empty() && ::access((bin_dir / "psql").c_str(), X_OK) == 0)
        return bin_dir / "psql";
    return find_program("psql");
}

}  // namespace

postgres_server& postgres_server::shared() {
    static std::unique_ptr<postgres_server> instance(new postgres_server());
    return *instance;
}

// A private cluster is tens of megabytes; it goes even under CHAT_TEST_KEEP.
postgres_server::postgres_server()
    : work_("chat-test-pg", /*keepable=*/false), bin_dir_(postgres_bin_dir()) {
    if (const char* url = std::getenv("CHAT_TEST_PG_URL"); url != nullptr && *url != '\0') {
        admin_url_ = url;
        // The variable promises a server: if it does not answer, that is a failure, not a skip.
        psql("SELECT 1");
        return;
    }
    start_private_cluster();
}

postgres_server::~postgres_server() {
    if (postmaster_) postmaster_->stop();
}

void postgres_server::start_private_cluster() {
    if (bin_dir_.empty()) {
        skip_test(
            "CHAT_TEST_PG_URL is unset and no PostgreSQL server binaries were found "
            "in /usr/lib/postgresql/*/bin to start a private cluster");
    }
    std::string user;
    if (::geteuid() == 0) {
        // initdb and postgres refuse to run as root.
        passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr) {
            skip_test(
                "CHAT_TEST_PG_URL is unset, the tests run as root and there is no "
                "'postgres' user to run a private PostgreSQL cluster as");
        }
        user = "postgres";
        if (::chown(work_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            skip_test("cannot hand " + work_.path().string() + " to the postgres user");
        }
    }
    auto data = work_ / "data";
    spawn_options options;
    options.cwd = work_.path();  // the postgres user may not be able to enter the source tree
    options.run_as = user;
    options.log_file = work_ / "initdb.log";
    int status = run_command({(bin_dir_ / "initdb").string(), "-D", data.string(), "-U", "postgres",
                              "--auth=trust", "-E", "UTF8", "--no-sync"},
                             options);
    if (status != 0) {
        skip_test("initdb failed (exit " + std::to_string(status) + "), cannot start a private " +
                  "PostgreSQL cluster:\n" + tail_file(options.log_file));
    }

    auto port = free_port();
    options.log_file = work_ / "postgres.log";
    options.stop_signal = SIGINT;  // fast shutdown: do not wait for clients to leave
    // Durability settings are off because the cluster dies with the test run anyway.
    postmaster_ = std::make_unique<child_process>(
        std::vector<std::string>{(bin_dir_ / "postgres").string(), "-D", data.string(), "-p",
                                 std::to_string(port), "-k", work_.path().string(), "-c",
                                 "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                                 "full_page_writes=off", "-c", "max_connections=300"},
        options);
    admin_url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
    bool up = wait_until(
        [&] {
            if (!postmaster_->running()) return true;
            try {
                psql("SELECT 1");
                return true;
            } catch (const std::exception&) {
                return false;
            }
        },
        std::chrono::seconds(30), std::chrono::milliseconds(100));
    if (!up || !postmaster_->running()) {
        throw std::runtime_error("private PostgreSQL cluster did not start\n" +
                                 postmaster_->describe());
    }
}

std::string postgres_server::url_for(const std::string& database) const {
    auto scheme = admin_url_.find("://");
    auto slash = admin_url_.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash == std::string::npos) return admin_url_ + "/" + database;
    auto query = admin_url_.find('?', slash);
    return admin_url_.substr(0, slash + 1) + database +
           (query == std::string::npos ? "" : admin_url_.substr(query));
}

std::string postgres_server::psql(const std::string& sql, const std::string& database) const {
    static std::atomic<int> counter{0};
    auto program = psql_program(bin_dir_);
    if (program.empty()) throw std::runtime_error("psql is not installed");
    spawn_options options;
    options.cwd = work_.path();
    options.log_file = work_ / ("psql-" + std::to_string(counter++) + ".out");
    options.env = {"PGOPTIONS=-c client_min_messages=warning", "PGCONNECT_TIMEOUT=5"};
    int status = run_command({program.string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-d", url_for(database), "-c", sql},
                             options, std::chrono::seconds(60));
    std::string output = read_file(options.log_file);
    std::filesystem::remove(options.log_file);
    if (status != 0) throw std::runtime_error("psql failed on `" + sql + "`: " + output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
}

scratch_database::scratch_database(const std::filesystem::path& work_dir, bool migrate)
    : server_(postgres_server::shared()) {
    static std::atomic<int> counter{0};
    std::random_device random;
    name_ = "chat_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(random() % 100000);
    server_.psql("CREATE DATABASE " + name_);
    if (!migrate) return;

    // `chat migrate` reads postgres.url from a logic config; the other keys only have
    // to be valid.
    auto config = work_dir / ("migrate-" + name_ + ".yaml");
    write_file(config,
               "logic:\n  workers: 1\n  dialogue_batch_max: 64\n"
               "presence:\n  broker_timeout: 5s\n  sweep_interval: 1s\n"
               "nats:\n  url: nats://127.0.0.1:4222\n"
               "postgres:\n  url: " +
                   url() +
                   "\n"
                   "log:\n  level: info\n");
    spawn_options options;
    options.log_file = work_dir / ("migrate-" + name_ + ".log");
    int status = run_command({binary("chat").string(), "migrate", "--config", config.string(),
                              "--migrations", (source_dir() / "migrations").string()},
                             options);
    if (status != 0) {
        std::string log = tail_file(options.log_file);
        try {
            server_.psql("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (...) {
        }
        throw std::runtime_error("chat migrate failed (exit " + std::to_string(status) + "):\n" +
                                 log);
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

std::string scratch_database::query(const std::string& sql) const {
    return server_.psql(sql, name_);
}

}  // namespace chat::test
