#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/nats_server.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_client.hpp"

namespace chat::test {

/// What a test may change about the services it starts. Durations are config strings
/// ("200ms", "1s"); the defaults are deploy/config/*.yaml's.
struct stack_options {
    int brokers = 1;
    int logics = 1;
    int dispatchers = 1;
    /// Start the brokers before logic and the dispatchers (normally they start last), so
    /// the brokers' first hello and heartbeat find nobody listening.
    bool brokers_first = false;

    // broker
    int broker_threads = 2;
    std::string request_timeout = "5s";
    std::string heartbeat_interval = "1s";
    std::size_t max_frame_bytes = 65536;
    std::string ping_interval = "10s";
    std::string ping_max_wait = "30s";
    /// Extra lines under `limits:` (e.g. "  messages_per_second: 5\n") and extra top-level
    /// YAML (e.g. an `http:` section) for every broker.
    std::string broker_limits;
    std::string broker_extra;

    // logic
    int logic_workers = 4;
    int dialogue_batch_max = 64;
    std::string broker_timeout = "5s";  // presence.broker_timeout
    std::string presence_sweep = "1s";  // presence.sweep_interval
    /// presence.grace: 0 by default here, the design's immediate PartnerExit; tests of the
    /// away state set it.
    std::string grace = "0s";
    std::string token_ttl = "720h";     // presence.token_ttl

    // dispatcher
    int dispatcher_workers = 2;
    int dispatcher_batch_max = 500;
    std::string dispatcher_sweep = "1s";
    std::string rebalance_interval = "1s";

    /// The services' log level; CHAT_TEST_LOG_LEVEL in the environment overrides it.
    std::string log_level = "info";
};

/// A whole system for one test: its own nats-server, a scratch database with the
/// migrations applied, and N logic, N dispatcher and N broker processes (broker ids
/// b1, b2, ... each on a free port), with configs written to a temp dir. The
/// constructor returns once every broker answers /healthz and logic answers requests.
/// Members are destroyed services first, then the database, then nats-server.
class service_stack {
  public:
    explicit service_stack(stack_options options = {});
    ~service_stack();
    service_stack(const service_stack&) = delete;
    service_stack& operator=(const service_stack&) = delete;

    const stack_options& options() const { return options_; }
    nats_server& nats() { return *nats_; }
    scratch_database& db() { return *db_; }
    const std::filesystem::path& dir() const { return dir_.path(); }

    std::size_t broker_count() const { return brokers_.size(); }
    std::uint16_t broker_port(std::size_t index = 0) const { return brokers_.at(index).port; }
    const std::string& broker_id(std::size_t index = 0) const { return brokers_.at(index).id; }
    child_process& broker(std::size_t index = 0) { return *brokers_.at(index).process; }
    child_process& logic(std::size_t index = 0) { return *logics_.at(index); }
    child_process& dispatcher(std::size_t index = 0) { return *dispatchers_.at(index); }

    /// Starts a stopped or killed broker again with the same id, port and config, and
    /// waits for its /healthz.
    void restart_broker(std::size_t index);
    /// True when the broker's GET /healthz answers 200.
    bool broker_healthy(std::size_t index) const;

    /// A new WebSocket client of broker `index`.
    std::unique_ptr<ws_client> connect(std::size_t index = 0);
    std::unique_ptr<ws_client> connect(std::size_t index, ws_client::options options);

    /// Names of services that are not running (empty when all are), with their log tails.
    std::string dead_services();
    /// The tails of every log (services and nats-server), for failure messages.
    std::string logs(std::size_t lines = 25);

  private:
    struct broker_proc {
        std::string id;
        std::uint16_t port;
        std::filesystem::path config;
        std::unique_ptr<child_process> process;
    };

    std::unique_ptr<child_process> start(const std::string& binary_name,
                                         const std::filesystem::path& config,
                                         const std::string& log_name);
    void write_configs();
    void wait_broker_healthy(std::size_t index);
    void wait_services_ready();
    void probe_broker(std::size_t index);
    std::vector<child_process*> all_processes();

    stack_options options_;
    temp_dir dir_;
    std::unique_ptr<nats_server> nats_;
    std::unique_ptr<scratch_database> db_;
    std::filesystem::path logic_config_;
    std::filesystem::path dispatcher_config_;
    // Declared last so they stop first: nothing may outlive the database or NATS.
    std::vector<std::unique_ptr<child_process>> logics_;
    std::vector<std::unique_ptr<child_process>> dispatchers_;
    std::vector<broker_proc> brokers_;
};

}  // namespace chat::test
