#pragma once

#include <spdlog/logger.h>

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "services/broker/src/broker_metrics.hpp"
#include "services/broker/src/client_address.hpp"
#include "services/broker/src/connection_registry.hpp"
#include "services/broker/src/settings.hpp"
#include "services/broker/src/typing_bus.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/bus/requester.hpp"
#include "shared/util/rate_limiter.hpp"

namespace chat::broker {

/// What every connection of this broker shares: settings and identity, the NATS link
/// and its requester, the rate limits keyed by account and address, the registry of
/// live connections, and the TYPING link between brokers.
class broker_context {
public:
    broker_context(boost::asio::io_context& ioc, broker_settings settings, std::shared_ptr<spdlog::logger> log);
    ~broker_context();

    const broker_settings& settings() const { return settings_; }
    spdlog::logger& log() { return *log_; }
    /// Changes on every start: tells logic which accounts an older run of this id held.
    const std::string& epoch() const { return epoch_; }
    bus::connection& nats() { return nats_; }
    bus::requester& requester() { return requester_; }
    connection_registry& connections() { return connections_; }
    /// TYPING to and from other brokers (its own NATS connection).
    typing_bus& typing() { return typing_; }
    /// The metrics /metrics serves, and what the connections record into them.
    const metrics::service_metrics& metrics() const { return metrics_; }
    broker_metrics& recorded() { return recorded_; }
    /// Who may name the client's address in X-Forwarded-For (http.trusted_proxies).
    const trusted_proxies& proxies() const { return proxies_; }

    /// Thread-safe: the broker is shutting down (SIGTERM); no new WebSocket may start.
    void begin_stopping() { stopping_ = true; }
    bool stopping() const { return stopping_; }

    /// A number for a new connection, unique within this run; its key is "<epoch>/<n>".
    std::uint64_t next_conn_id() { return next_conn_++; }
    /// The live connection with key `conn_key`, if it belongs to this run of the broker.
    std::shared_ptr<ws_connection> find_connection(const std::string& conn_key);

    /// The per-account message limit, shared by the account's connections (null: none).
    util::keyed_rate_limiter* account_messages() { return account_messages_.get(); }
    /// Rate limits per address (true: go ahead). Limits set to 0 in the config always allow.
    bool allow_account_creation(const std::string& address);
    bool allow_connection(const std::string& address);
    /// Forgets idle rate-limit buckets (called on the heartbeat timer).
    void sweep_limits();

    /// Tells logic that an account's connection is gone, retrying with backoff until
    /// logic answers (a lost report would leave a ghost online).
    void report_offline(std::int64_t account_id, const std::string& conn_key);

private:
    void send_offline(std::int64_t account_id, const std::string& conn_key, int attempt);

    boost::asio::io_context& ioc_;
    broker_settings settings_;
    std::shared_ptr<spdlog::logger> log_;
    std::string epoch_;
    std::atomic<std::uint64_t> next_conn_{1};
    std::atomic<bool> stopping_{false};
    const trusted_proxies proxies_;
    metrics::service_metrics metrics_{"broker"};
    broker_metrics recorded_{metrics_};
    bus::connection nats_;
    bus::requester requester_;
    connection_registry connections_;
    typing_bus typing_;  // after the registry: its handler looks connections up there

    std::unique_ptr<util::keyed_rate_limiter> account_messages_;   // null: no limit
    std::unique_ptr<util::keyed_rate_limiter> address_accounts_;
    std::unique_ptr<util::keyed_rate_limiter> address_connections_;
};

}  // namespace chat::broker
