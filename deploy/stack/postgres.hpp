#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/process.hpp"

namespace chat::stack {

struct postgres_options {
    /// Where the node keeps its data (DIR/data, or a symlink to it), logs and sockets.
    std::filesystem::path dir;
    /// 0: a free port.
    std::uint16_t port = 0;
    /// false: fsync and full_page_writes off, which survives killed processes (every
    /// commit reached the kernel) but not a machine crash; for tests.
    bool durable = false;
    /// Larger buffers and early vacuum for a chat workload (what `dev.sh up` and the
    /// benchmark want); off for tests, which start many clusters at once.
    bool tuned = false;
    /// Extra "name=value" server settings (-c), e.g. "shared_preload_libraries=pg_stat_statements".
    std::vector<std::string> settings;
    /// A streaming-replication standby of the primary on this port (pg_basebackup),
    /// named `name` in primary_conninfo's application_name; 0: a primary (initdb).
    std::uint16_t primary_port = 0;
    std::string name = "postgres";
    bool detached = false;
};

/// One PostgreSQL server of our own: initdb (or pg_basebackup from a primary) in a
/// directory, a port, and it can be stopped, killed with SIGKILL and started again on
/// the same port and data (crash recovery included). As root, it runs as user postgres.
/// Reuses the data directory when it exists already (a detached system started again).
class postgres_node {
  public:
    /// Creates (if needed) and starts the node, waiting until it accepts queries.
    explicit postgres_node(postgres_options options);
    /// Adopts a node a detached system started (see to_json).
    postgres_node(const nlohmann::json& state, bool detached);
    ~postgres_node();
    postgres_node(const postgres_node&) = delete;
    postgres_node& operator=(const postgres_node&) = delete;

    const std::string& name() const { return options_.name; }
    std::uint16_t port() const { return options_.port; }
    bool standby() const { return options_.primary_port != 0; }
    /// postgresql://postgres@127.0.0.1:PORT/<database> (superuser, trust auth).
    std::string url_for(const std::string& database) const;
    child_process& postmaster() { return *postmaster_; }
    pid_t pid() const { return postmaster_->pid(); }
    bool running() { return postmaster_->running(); }
    const std::filesystem::path& log_file() const { return log_file_; }
    const std::filesystem::path& data_dir() const { return data_dir_; }

    /// psql (unaligned, tuples only: rows by '\n', fields by '|'); throws on failure.
    std::string psql(const std::string& sql, const std::string& database = "postgres") const;
    /// True when SELECT 1 answers.
    bool accepts_queries() const;
    /// CREATE DATABASE (unless it exists) and `chat migrate` (migrations/ of the source
    /// tree, or `migrations`) into it, run by `chat_binary` (empty: binary("chat")).
    void create_database(const std::string& name, bool migrate = true,
                         const std::filesystem::path& chat_binary = {},
                         const std::filesystem::path& migrations = {});

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
    /// From now on every commit waits for the standby named `standby` (its
    /// application_name); ALTER SYSTEM, so it holds across restarts. Set once the
    /// standby streams: before, a commit would wait for nobody forever.
    void set_synchronous_standby(const std::string& standby);
    /// Leaves the server running when this object dies.
    void release() { postmaster_->release(); }

    nlohmann::json to_json() const;

  private:
    void create();
    std::vector<std::string> argv() const;
    spawn_options spawn_opts() const;
    void start();
    void wait_ready(std::chrono::milliseconds timeout);
    std::vector<process_id> backends() const;

    postgres_options options_;
    std::filesystem::path bin_dir_;
    std::filesystem::path data_dir_;
    std::filesystem::path log_file_;
    std::string run_as_;
    std::unique_ptr<child_process> postmaster_;
};

/// Runs SQL with psql against `url` (unaligned, tuples only: rows by '\n', fields by
/// '|'); throws with psql's message when it fails. psql's output passes through a file
/// in `work_dir`.
std::string psql(const std::string& url, const std::string& sql, const std::filesystem::path& work_dir);

/// Applies migrations/ (or `migrations`) to the database at `url` with `chat migrate`
/// (the shipped logic config, postgres.url overridden), run by `chat_binary` (empty:
/// binary("chat")); its output goes to `log_file`. Throws when it fails.
void migrate(const std::string& url, const std::filesystem::path& log_file,
             const std::filesystem::path& chat_binary = {}, const std::filesystem::path& migrations = {});

/// chown `path` to `user` (nothing when `user` is empty); throws when it cannot.
void hand_to(const std::filesystem::path& path, const std::string& user);

/// "postgres" when this process is root (initdb and postgres refuse to run as root),
/// else "" (run as ourselves).
std::string postgres_user();

}  // namespace chat::stack
