#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/nats_server.hpp"
#include "support/postgres_cluster.hpp"

namespace chat::faults {

struct stack_settings {
    int brokers = 2;
    int logics = 2;
    int dispatchers = 2;
    /// Where chat-broker, chat-logic, chat-dispatcher and chat are.
    std::filesystem::path bin_dir;
    // logic
    std::string grace = "30s";          // presence.grace (left out if logic rejects it)
    std::string broker_timeout = "3s";  // presence.broker_timeout
    std::string presence_sweep = "500ms";
    int logic_workers = 4;
    // broker
    std::string request_timeout = "3s";
    std::string heartbeat_interval = "500ms";
    std::string ping_interval = "2s";
    std::string ping_max_wait = "8s";
    // dispatcher
    std::string dispatcher_sweep = "500ms";
    std::string rebalance_interval = "1s";
    std::string log_level = "info";
};

/// The whole system for the fault run, every part of it killable: a private PostgreSQL
/// cluster (not the shared test server), a private nats-server, N logic, N dispatcher
/// and N broker processes, all logging into `dir`.
class fault_stack {
  public:
    fault_stack(const std::filesystem::path& dir, stack_settings settings);
    ~fault_stack();
    fault_stack(const fault_stack&) = delete;
    fault_stack& operator=(const fault_stack&) = delete;

    test::postgres_cluster& postgres() { return *postgres_; }
    test::nats_server& nats() { return *nats_; }
    test::child_process& logic(std::size_t i) { return *logics_.at(i); }
    test::child_process& dispatcher(std::size_t i) { return *dispatchers_.at(i); }
    test::child_process& broker(std::size_t i) { return *brokers_.at(i).process; }
    std::size_t logic_count() const { return logics_.size(); }
    std::size_t dispatcher_count() const { return dispatchers_.size(); }
    std::size_t broker_count() const { return brokers_.size(); }
    std::vector<std::uint16_t> broker_ports() const;
    /// False when logic refused presence.grace (the build predates it).
    bool grace_configured() const { return grace_configured_; }

    /// Every service process with a name ("logic-1", "broker-b2", ...).
    struct named {
        std::string name;
        test::child_process* process;
    };
    std::vector<named> services();

    /// Waits until every service runs, every broker answers /healthz, nats-server shows
    /// every service's subscriptions, and logic answers a request through every broker.
    /// Returns "" when ready, else what is missing.
    std::string wait_ready(std::chrono::milliseconds timeout);
    /// A request through broker `index` that logic answers only after reading
    /// PostgreSQL: RECONNECT with a token that cannot match (code 9). True when answered
    /// with anything but 2.
    bool probe(std::size_t index, std::string& last);
    bool broker_healthy(std::size_t index) const;

    /// Names (and log tails) of services that are not running; "" when all run.
    std::string dead_services();
    std::string logs(std::size_t lines = 30);

  private:
    struct broker_proc {
        std::string id;
        std::uint16_t port;
        std::filesystem::path config;
        std::unique_ptr<test::child_process> process;
    };
    std::unique_ptr<test::child_process> spawn(const std::string& binary,
                                               const std::filesystem::path& config,
                                               const std::string& log_name);
    void write_logic_config(bool with_grace);
    std::string subscriptions_missing();

    std::filesystem::path dir_;
    stack_settings settings_;
    bool grace_configured_ = false;
    std::unique_ptr<test::postgres_cluster> postgres_;
    std::unique_ptr<test::nats_server> nats_;
    std::string database_url_;
    std::filesystem::path logic_config_;
    std::filesystem::path dispatcher_config_;
    // Declared last so they stop first.
    std::vector<std::unique_ptr<test::child_process>> logics_;
    std::vector<std::unique_ptr<test::child_process>> dispatchers_;
    std::vector<broker_proc> brokers_;
};

}  // namespace chat::faults
