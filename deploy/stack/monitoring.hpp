#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/process.hpp"

namespace chat::stack {

/// One /metrics Prometheus scrapes: `job` (chat-broker, chat-logic, chat-dispatcher,
/// postgres) and the process's name as label `name` (broker-b1, logic-1, pg-1, ...).
struct scrape_target {
    std::string job;
    std::string name;
    std::uint16_t port = 0;
};

/// A PostgreSQL server to watch through prometheus-postgres-exporter.
struct watched_database {
    std::string name;       // the node's process name: postgres, standby, pg-1, pg-2
    std::string admin_url;  // as a role that may read pg_stat_* (the stack: superuser)
    std::uint16_t exporter_port = 0;  // 0: a free port
};

struct monitoring_options {
    /// prometheus.yml, its data and the exporters' logs go in DIR/prometheus/.
    std::filesystem::path dir;
    /// Prometheus's port on 127.0.0.1; 0: a free port.
    std::uint16_t port = 0;
    std::chrono::seconds scrape_interval{5};
    /// The chat services; the exporters are added as job postgres.
    std::vector<scrape_target> services;
    std::vector<watched_database> databases;
    /// deploy/prometheus/: alerts.yml (rules) and postgres-queries.yaml (the exporter's
    /// extra queries).
    std::filesystem::path config_dir;
    bool detached = false;
    std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
};

/// Debian's prometheus and prometheus-postgres-exporter, run privately: one exporter
/// per PostgreSQL node, and Prometheus scraping every chat service, the exporters and
/// itself, with the alert rules of deploy/prometheus/alerts.yml loaded. Like nginx_server
/// it can be left running (detached) and adopted from the state again.
class monitoring {
  public:
    /// Starts the exporters and Prometheus, and returns once Prometheus has scraped
    /// every target successfully; throws (with the logs) when it does not in time.
    explicit monitoring(monitoring_options options);
    /// Adopts the processes a detached system started (see to_json).
    monitoring(const nlohmann::json& state, bool detached);
    ~monitoring();
    monitoring(const monitoring&) = delete;
    monitoring& operator=(const monitoring&) = delete;

    static constexpr const char* k_prometheus = "prometheus";
    std::uint16_t port() const { return options_.port; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(options_.port) + "/"; }

    /// "prometheus" and "exporter-NODE" for each database.
    std::vector<std::string> names() const;
    child_process* process_named(const std::string& name);

    /// "" when Prometheus reports every target up; else which are not (or why not).
    std::string targets_down() const;

    void stop();
    void release();
    /// What state.json keeps: pids, ports, argv, whether each runs.
    nlohmann::json to_json();

  private:
    void start_exporter(const watched_database& database);
    void start_prometheus();
    std::filesystem::path conf_dir() const { return options_.dir / "prometheus"; }

    monitoring_options options_;
    std::vector<std::unique_ptr<child_process>> exporters_;  // in databases' order
    std::unique_ptr<child_process> prometheus_;
};

/// The prometheus.yml for `options` (every port already chosen).
std::string prometheus_config(const monitoring_options& options);

/// The URL with `sslmode=disable` added unless it names an sslmode: the exporter's
/// driver (Go's lib/pq) requires TLS by default, where libpq prefers it.
std::string exporter_url(const std::string& url);

}  // namespace chat::stack
