#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "deploy/stack/process.hpp"

namespace chat::stack {

struct postgres_ha_options {
    /// Data directories (pg-monitor/, pg-1/, pg-2/), pg_autoctl's config and state, logs.
    std::filesystem::path dir;
    /// 0: free ports. chat-stack --fixed-ports: monitor 15431, pg-1 15432, pg-2 15433.
    /// Data made by an earlier run keep the ports they had (DIR/ports.json): pg_autoctl
    /// has them in its config.
    std::uint16_t monitor_port = 0;
    std::uint16_t node_ports[2] = {0, 0};
    /// Health checks every second and a short demote timeout, so a dead primary is
    /// replaced in seconds instead of ~50 s (docs/operations.md, "Failover"); for tests.
    bool fast_failover = false;
    bool detached = false;
};

/// One row of the monitor's view of a data node.
struct ha_node_state {
    std::string name;
    std::uint16_t port = 0;
    std::string reported;  // pg_auto_failover state the node reached: primary, secondary, ...
    std::string goal;      // the state the monitor assigned
    int health = 0;        // 1 when the monitor's last health check reached it
};

/// PostgreSQL with automatic failover by pg_auto_failover (Debian's
/// postgresql-15-auto-failover): a monitor and two data nodes on loopback, each run by
/// its `pg_autoctl` keeper (as user postgres when we are root) in a process group of its
/// own. Node pg-1 starts first and is the primary; pg-2 is cloned from it and is its
/// synchronous standby (replication quorum: synchronous_standby_names = ANY 1 (...)), so
/// a commit the primary acknowledged is on both. When the primary dies the monitor
/// promotes the standby; the old primary, started again, rejoins as standby (pg_rewind).
/// Like postgres_node it can leave its processes running (detached) and adopt them later.
class postgres_ha {
  public:
    /// Creates (or, on existing data, starts again) the monitor and both nodes and waits
    /// until there is a primary with a streaming secondary.
    explicit postgres_ha(postgres_ha_options options);
    /// Adopts the processes of a detached system (see to_json).
    postgres_ha(const nlohmann::json& state, bool detached);
    ~postgres_ha();
    postgres_ha(const postgres_ha&) = delete;
    postgres_ha& operator=(const postgres_ha&) = delete;

    static constexpr const char* k_monitor = "pg-monitor";
    /// "pg-monitor", "pg-1", "pg-2": the process names chat-stack knows them by.
    std::vector<std::string> names() const;
    /// The keeper of a name, or nullptr when the name is not ours.
    child_process* keeper(const std::string& name);
    std::uint16_t port(const std::string& name) const;

    /// Both nodes in one libpq URL that connects to whichever is primary:
    /// postgresql://ROLE@127.0.0.1:P1,127.0.0.1:P2/DB?target_session_attrs=read-write
    /// (+ &passfile=PASSFILE when given).
    std::string url(const std::string& database, const std::string& role,
                    const std::filesystem::path& passfile = {}) const;
    /// One node as the superuser (trust over loopback, for the stack's set-up and tests).
    std::string admin_url(const std::string& name, const std::string& database = "postgres") const;

    /// The monitor's view of the data nodes (empty when it does not answer).
    std::vector<ha_node_state> nodes();
    /// The node that is primary now (reported and assigned), if any.
    std::optional<std::string> primary();
    /// "" when one node is primary and the other secondary, streaming synchronously to
    /// it; else what is missing.
    std::string unhealthy();
    /// Waits until unhealthy() is ""; throws with the logs after `timeout`.
    void wait_healthy(std::chrono::milliseconds timeout);

    /// SIGKILL the keeper's whole process group (keeper, postgres and its backends: the
    /// keeper would restart a postgres killed alone) and wait until all of it is gone.
    void kill9(const std::string& name);
    /// pg_autoctl's fast shutdown (SIGINT), waiting for the exit.
    void stop(const std::string& name);
    /// Runs the keeper again (`pg_autoctl run`); a data node rejoins as secondary.
    /// Returns at once: wait_healthy() waits for the rejoin.
    void start(const std::string& name);

    /// Each data node may be reached over TCP by `roles` with a password only
    /// (scram-sha-256, first in pg_hba.conf); reloads the nodes whose file changed.
    void require_passwords(const std::vector<std::string>& roles);

    /// For status: every member with port, pid, running, and for data nodes the
    /// monitor's states and pg_stat_replication as the primary sees it.
    nlohmann::json state();
    nlohmann::json to_json() const;
    void release();
    /// Stops the data nodes, then the monitor.
    void shutdown();
    /// The log tails of every keeper, for failure messages.
    std::string logs(std::size_t lines = 20);

  private:
    /// options_.dir where user postgres reaches it (see postgres_node's data directory).
    void place_where_postgres_reaches();
    struct member {
        std::string name;
        std::uint16_t port = 0;
        std::filesystem::path data;
        std::unique_ptr<child_process> keeper;
    };

    member& get(const std::string& name);
    const member& get(const std::string& name) const;
    std::vector<std::string> create_argv(const member& m) const;
    std::vector<std::string> run_argv(const member& m) const;
    spawn_options spawn_opts(const member& m) const;
    void spawn(member& m, bool create);
    void wait_answers(const member& m, std::chrono::milliseconds timeout);
    void apply_fast_failover();
    std::string monitor_url() const;

    postgres_ha_options options_;
    std::filesystem::path bin_dir_;
    std::string run_as_;
    std::vector<member> members_;  // the monitor, pg-1, pg-2
};

}  // namespace chat::stack
