#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deploy/stack/system.hpp"
#include "tests/support/stack.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/ws_client.hpp"

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
    /// nginx in front of the brokers (connect_front), trusted for X-Forwarded-For.
    bool nginx = false;
    /// NATS: nodes of a full-mesh cluster, users with permissions, TLS (chat::stack::options).
    int nats_nodes = 1;
    bool locked_bus = false;
    bool nats_tls = false;

    // broker
    int broker_threads = 2;
    std::string request_timeout = "5s";
    std::string heartbeat_interval = "1s";
    std::size_t max_frame_bytes = 65536;
    std::string ping_interval = "10s";
    std::string ping_max_wait = "30s";
    /// Further config overrides, "key.path=value" (see chat::stack::options::sets), e.g.
    /// "limits.messages_per_second=5" or "http.allowed_origins=[http://good.example]".
    std::vector<std::string> sets;

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

/// A whole system for one test (chat::stack::system): its own nats-server, a scratch
/// database with the migrations applied on the shared test PostgreSQL, and N logic, N
/// dispatcher and N broker processes (broker ids b1, b2, ... each on a free port),
/// started from deploy/config/*.yaml with the options above as --set overrides. The
/// constructor returns once every broker answers /healthz and logic answers requests.
class service_stack {
  public:
    explicit service_stack(stack_options options = {});
    ~service_stack();
    service_stack(const service_stack&) = delete;
    service_stack& operator=(const service_stack&) = delete;

    const stack_options& options() const { return options_; }
    nats_server& nats() { return system_->nats(); }
    scratch_database& db() { return *db_; }
    const std::filesystem::path& dir() const { return dir_.path(); }
    stack::system& system() { return *system_; }

    std::size_t broker_count() const { return static_cast<std::size_t>(options_.brokers); }
    std::uint16_t broker_port(std::size_t index = 0) const { return system_->broker_port(index); }
    /// Logic's and the dispatcher's status listeners (/metrics, /healthz, /readyz).
    std::uint16_t logic_status_port(std::size_t index = 0) const {
        return system_->status_port(stack::service_kind::logic, index);
    }
    std::uint16_t dispatcher_status_port(std::size_t index = 0) const {
        return system_->status_port(stack::service_kind::dispatcher, index);
    }
    /// Logic's admin listener (moderation), and the token it wants.
    std::uint16_t moderation_port(std::size_t index = 0) const { return system_->moderation_port(index); }
    std::string moderation_token() const;
    const std::string& broker_id(std::size_t index = 0) const { return system_->broker_id(index); }
    child_process& broker(std::size_t index = 0) { return system_->broker(index); }
    child_process& logic(std::size_t index = 0) { return system_->logic(index); }
    child_process& dispatcher(std::size_t index = 0) { return system_->dispatcher(index); }

    /// Starts a stopped or killed broker again with the same id, port and config, and
    /// waits until the whole system is ready again (its push subject, a probe).
    void restart_broker(std::size_t index);
    /// True when the broker's GET /healthz answers 200.
    bool broker_healthy(std::size_t index) const { return system_->broker_healthy(index); }

    /// A new WebSocket client of broker `index`.
    std::unique_ptr<ws_client> connect(std::size_t index = 0);
    std::unique_ptr<ws_client> connect(std::size_t index, ws_client::options options);
    /// A new WebSocket client through nginx (stack_options::nginx).
    std::unique_ptr<ws_client> connect_front(ws_client::options options = {});

    /// Names of services that are not running (empty when all are), with their log tails.
    std::string dead_services() { return system_->dead_processes(); }
    /// The tails of every log (services and nats-server), for failure messages.
    std::string logs(std::size_t lines = 25) { return system_->logs(lines); }

  private:
    stack_options options_;
    temp_dir dir_;
    std::unique_ptr<scratch_database> db_;
    // Last, so it stops first: nothing may outlive the database.
    std::unique_ptr<stack::system> system_;
};

}  // namespace chat::test
