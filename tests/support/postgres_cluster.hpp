#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace chat::test {

/// A PostgreSQL cluster owned by one test process: initdb in a temp dir, its own free
/// port, and it can be killed with SIGKILL and started again on the same port and data
/// directory (crash recovery included). postgres_server::shared() may be the server
/// CHAT_TEST_PG_URL names, which other tests use at the same time: never kill that one;
/// kill this.
///
/// Durability: fsync is off, which survives what this class does (killing processes:
/// every commit was written to the kernel before it returned) but not a machine crash.
class postgres_cluster {
  public:
    /// initdb and start; skips the test (skip_test) when PostgreSQL is not installed or
    /// cannot run here. Logs go to `log_dir`.
    explicit postgres_cluster(const std::filesystem::path& log_dir);
    ~postgres_cluster();
    postgres_cluster(const postgres_cluster&) = delete;
    postgres_cluster& operator=(const postgres_cluster&) = delete;

    std::uint16_t port() const { return port_; }
    /// postgresql://postgres@127.0.0.1:PORT/<database> (superuser, trust auth).
    std::string url_for(const std::string& database) const;
    child_process& postmaster() { return *postmaster_; }
    pid_t pid() const { return postmaster_->pid(); }
    bool running() { return postmaster_->running(); }
    const std::filesystem::path& log_file() const { return log_file_; }

    /// psql as postgres_server::psql does (unaligned, tuples only); throws on failure.
    std::string psql(const std::string& sql, const std::string& database = "postgres") const;
    /// CREATE DATABASE and `chat migrate` (migrations/ of the source tree) into it, run
    /// by `chat_binary` (empty: binary("chat") of this build).
    void create_database(const std::string& name, bool migrate = true,
                         const std::filesystem::path& chat_binary = {});

    /// SIGKILL the postmaster (nothing else: that is the fault), then wait until its
    /// orphaned backends have noticed and exited, as they do by themselves. Backends
    /// still there after `backend_grace` are SIGKILLed by pid, so that a restart can
    /// take the shared memory again.
    void kill9(std::chrono::milliseconds backend_grace = std::chrono::seconds(5));
    /// Fast shutdown (SIGINT), waiting for the exit.
    void stop();
    /// Starts again on the same port and data directory (after kill9 or stop) and waits
    /// until it accepts queries (crash recovery done).
    void restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  private:
    void start();
    void wait_ready(std::chrono::milliseconds timeout);
    std::vector<std::pair<pid_t, unsigned long long>> backends() const;

    temp_dir work_;
    std::filesystem::path bin_dir_;
    std::filesystem::path data_dir_;
    std::filesystem::path log_file_;
    std::string run_as_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> postmaster_;
};

}  // namespace chat::test
