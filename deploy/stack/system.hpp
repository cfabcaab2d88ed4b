#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/files.hpp"
#include "deploy/stack/monitoring.hpp"
#include "deploy/stack/nats.hpp"
#include "deploy/stack/nginx.hpp"
#include "deploy/stack/postgres.hpp"
#include "deploy/stack/postgres_ha.hpp"
#include "deploy/stack/process.hpp"

namespace chat::stack {

/// What to start. Every service runs with `--config <config_dir>/<kind>.yaml` plus
/// `--set` overrides: the ports, URLs and ids the system chose, then `sets`.
struct options {
    /// Logs, state.json, pid files and PostgreSQL's data; empty: a temp dir that goes
    /// with the system (kept under CHAT_TEST_KEEP).
    std::filesystem::path dir;
    /// Empty: bin_dir(), source_dir()/deploy/config, source_dir()/migrations.
    std::filesystem::path bin_dir;
    std::filesystem::path config_dir;
    std::filesystem::path migrations;
    /// Leave everything running when the object dies (chat-stack up); pid files and
    /// state.json in `dir` let a later `chat-stack down` stop exactly these processes.
    bool detached = false;
    /// The ports of deploy/config/*.yaml (broker 8080, 8081..., NATS 14222 / monitoring
    /// 18222, then +1 per node, PostgreSQL 15432, standby 15433) instead of free ones.
    bool fixed_ports = false;

    /// Parts: PostgreSQL, NATS, the services (chat-stack --only).
    bool postgres = true;
    bool nats = true;
    bool services = true;

    int nats_nodes = 1;       // more than one: a full-mesh cluster "chat"
    /// PostgreSQL with automatic failover (pg_auto_failover: a monitor and two nodes,
    /// postgres_ha) instead of the plain primary (and standby); services connect with
    /// passwords. `pg_fast_failover`: promote within seconds (tests).
    bool postgres_ha = false;
    bool pg_fast_failover = false;
    /// NATS authentication and authorization: a user per service kind and per broker,
    /// each with the narrowest permissions that work (bus_users.hpp), passwords in
    /// DIR/secrets/; cluster routes log in too.
    bool locked_bus = false;
    /// TLS for NATS clients and routes, with a private CA made in DIR/tls/ (tls.hpp).
    bool nats_tls = false;
    bool standby = false;     // a streaming-replication standby of the primary
    bool synchronous = false; // ... that every commit waits for
    bool pg_durable = false;  // fsync on (off for tests: killed processes lose nothing)
    bool pg_tuned = false;    // deploy/dev.sh's buffer and vacuum settings
    std::vector<std::string> pg_settings;    // extra "name=value" server settings
    std::vector<std::string> pg_extensions;  // CREATE EXTENSION in the database
    std::string database = "chat";
    /// Use this (already migrated) database instead of starting PostgreSQL; the services
    /// connect to it as their roles (roles.hpp), with `passfile` when not empty.
    std::string database_url;
    std::filesystem::path passfile;

    int brokers = 1;  // ids b1, b2, ...
    int logics = 1;
    int dispatchers = 1;
    /// Start the brokers before logic and the dispatchers (normally they start last).
    bool brokers_first = false;
    /// nginx in front of the brokers ("nginx"), serving the web client and proxying /ws;
    /// with fixed ports it takes 8080 and the brokers move to 8081, 8082, ...
    bool nginx = false;
    /// Prometheus scraping every service and, through prometheus-postgres-exporter,
    /// every PostgreSQL node the system started (monitoring.hpp); with fixed ports on
    /// 9090, the exporters on 9187, 9188, ...
    bool monitoring = false;
    std::chrono::seconds scrape_interval{5};
    /// User overrides, "key.path=value" (given to every service whose shipped config
    /// has the top-level key: `limits.x` to brokers, `nats.url` to all) or
    /// "KIND:key.path=value" (KIND broker, logic or dispatcher) for one kind only.
    std::vector<std::string> sets;

    std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
};

/// The cluster's shape (chat-stack --cluster, dev.sh up --cluster, chat-faults
/// --cluster): PostgreSQL with automatic failover, a 3-node NATS cluster with a locked
/// bus over TLS, 2 brokers behind nginx, 2 logic processes and 2 dispatchers, and
/// Prometheus watching all of them.
void cluster_shape(options& o);

enum class service_kind { broker, logic, dispatcher };
const char* kind_name(service_kind kind);

/// One chat service process.
struct service {
    std::string name;  // "broker-b1", "logic-1", "dispatcher-2"
    service_kind kind;
    std::string id;          // broker id ("b1"), else ""
    std::uint16_t port = 0;  // broker port, else 0
    std::uint16_t moderation_port = 0;  // logic: its admin listener (the moderation API and page)
    std::unique_ptr<child_process> process;
};

/// A whole chat system on loopback: PostgreSQL (and a standby), NATS (a node or a
/// cluster), brokers, logic processes and dispatchers. The constructor returns once
/// everything is ready (see wait_ready); unless detached, the destructor stops it all,
/// services first.
class system {
  public:
    explicit system(options opts);
    /// The detached system whose state.json is in `dir` (chat-stack down/status/...).
    static std::unique_ptr<system> attach(const std::filesystem::path& dir);
    ~system();
    system(const system&) = delete;
    system& operator=(const system&) = delete;

    const options& opts() const { return options_; }
    const std::filesystem::path& dir() const { return dir_; }
    /// The token of every logic's admin listener (first line; made at the first start).
    const std::filesystem::path& moderation_token_file() const { return moderation_token_file_; }

    std::size_t postgres_count() const { return postgres_.size(); }
    /// 0: the primary, 1: the standby.
    postgres_node& postgres(std::size_t index = 0) { return *postgres_.at(index); }
    /// The chat database's URL (on the primary) as its owner, chat_owner: migrations.
    const std::string& database_url() const { return database_url_; }
    /// ... as `role` (k_logic_role, k_dispatcher_role, k_owner_role), with the passfile.
    const std::string& role_url(const std::string& role) const { return role_urls_.at(role); }
    /// The pg_auto_failover part (options::postgres_ha), else nullptr.
    postgres_ha* ha() { return postgres_ha_.get(); }

    std::size_t nats_count() const { return nats_.size(); }
    nats_server& nats(std::size_t index = 0) { return *nats_.at(index); }
    /// Every node's client URL, comma-separated, starting at node `first` (the services
    /// get all of them, each process of a kind starting at another node).
    std::string nats_urls(std::size_t first = 0) const;
    /// A locked bus's users with their passwords and password files (empty when open).
    const std::vector<nats_user>& nats_users() const { return nats_users_; }
    /// One of them by name ("logic", "dispatcher", "broker-b1"); throws when unknown.
    const nats_user& nats_user_named(const std::string& name) const;
    /// The CA (and the server's certificate) when NATS uses TLS; empty otherwise.
    const tls_files& nats_tls() const { return nats_tls_; }

    std::vector<service>& services() { return services_; }
    std::size_t count(service_kind kind) const;
    /// The index-th service of a kind.
    service& get(service_kind kind, std::size_t index);
    child_process& broker(std::size_t index = 0) { return *get(service_kind::broker, index).process; }
    child_process& logic(std::size_t index = 0) { return *get(service_kind::logic, index).process; }
    child_process& dispatcher(std::size_t index = 0) {
        return *get(service_kind::dispatcher, index).process;
    }
    std::uint16_t broker_port(std::size_t index = 0) { return get(service_kind::broker, index).port; }
    /// Where logic's or the dispatcher's status listener is (/metrics, /healthz, /readyz).
    std::uint16_t status_port(service_kind kind, std::size_t index = 0) { return get(kind, index).port; }
    /// A logic process's admin listener (the moderation API and page).
    std::uint16_t moderation_port(std::size_t index = 0) { return get(service_kind::logic, index).moderation_port; }
    /// The load balancer, or null when the system has none.
    nginx_server* nginx() { return nginx_.get(); }
    /// Prometheus and the exporters, or null when the system has none.
    class monitoring* monitoring() { return monitoring_.get(); }
    const std::string& broker_id(std::size_t index = 0) { return get(service_kind::broker, index).id; }

    /// Every process by name: "postgres", "standby" (or with postgres_ha "pg-monitor",
    /// "pg-1", "pg-2"), "nats" (or "nats-1"...), and the services'.
    std::vector<std::string> names();
    /// SIGKILL, SIGTERM (or SIGINT for PostgreSQL) and start-again of one process by
    /// name, on the same ports; start waits until that process is ready again.
    void kill9(const std::string& name);
    void stop(const std::string& name);
    /// With `wait_for_system`, start returns once the whole system is ready again (else
    /// once that process is).
    void start(const std::string& name, bool wait_for_system = true);
    /// The pid of a process by name; -1 when there is no such process.
    pid_t pid_of(const std::string& name);
    /// The name of the PostgreSQL node that is the primary now.
    std::string postgres_primary();
    /// An operator's rolling upgrade: each dispatcher, logic process, broker and NATS
    /// node in turn is stopped (SIGTERM: a broker tells its clients to reconnect, 1012),
    /// started again and waited for until the whole system is ready, before the next.
    /// `progress` hears one line per step.
    void rolling_restart(const std::function<void(const std::string&)>& progress);

    /// "" when every process runs, PostgreSQL answers (and the standby streams), each
    /// NATS node has its routes, every broker answers /healthz, NATS shows every
    /// service's subscriptions on every node, and logic answers a request through every
    /// broker (RECONNECT with a token that cannot match: code 9, where "nobody answered"
    /// is 2). Else what is missing, after `timeout`.
    std::string wait_ready(std::chrono::milliseconds timeout);
    /// One probe through broker `index`; `last` gets the answer or the error.
    bool probe(std::size_t index, std::string& last);
    bool broker_healthy(std::size_t index);

    /// "NOT RUNNING: ..." with log tails for every process that is down; "" when all run.
    std::string dead_processes();
    /// The tails of every log, for failure messages.
    std::string logs(std::size_t lines = 25);

    /// What runs where: pids, ports, URLs, log files.
    nlohmann::json state();
    /// Writes state.json and one NAME.pid per process into dir().
    void write_state();
    /// Stops everything, services first (what the destructor does unless detached).
    void shutdown();

  private:
    system() = default;
    void start_postgres();
    std::string start_postgres_nodes();
    std::string start_postgres_ha();
    void use_database(const std::string& admin_url, const std::string& owner_url);
    void start_nats();
    void start_nginx();
    void start_monitoring();
    std::vector<std::string> service_argv(service_kind kind, std::size_t index,
                                          const std::string& id, std::uint16_t port,
                                          std::uint16_t moderation_port);
    void add_service(service_kind kind, std::size_t index);
    std::string subscriptions_missing();
    child_process* process_named(const std::string& name);
    std::string wait_service_ready(const std::string& name, std::chrono::milliseconds timeout);

    options options_;
    std::unique_ptr<temp_dir> own_dir_;
    std::filesystem::path dir_;
    std::string database_url_;
    std::string admin_url_;  // the chat database as superuser (the stack's own use, bench)
    std::filesystem::path passfile_;
    std::filesystem::path moderation_token_file_;
    std::map<std::string, std::string> role_urls_;
    std::vector<std::unique_ptr<postgres_node>> postgres_;
    std::unique_ptr<postgres_ha> postgres_ha_;
    std::vector<std::unique_ptr<nats_server>> nats_;
    std::vector<nats_user> nats_users_;
    tls_files nats_tls_;
    // Last, so they stop first: nothing may outlive the database or NATS.
    std::vector<service> services_;
    std::unique_ptr<nginx_server> nginx_;  // the front door goes before the brokers
    std::unique_ptr<class monitoring> monitoring_;  // and the watchers before everything
};

/// "key.path=value" → the service kinds it is meant for (see options::sets); throws
/// when no shipped config has the key.
std::vector<service_kind> kinds_for(const std::string& set, const std::filesystem::path& config_dir,
                                    std::string& assignment);

}  // namespace chat::stack
