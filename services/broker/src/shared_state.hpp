#pragma once

#include <spdlog/logger.h>

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "settings.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/bus/requester.hpp"
#include "shared/util/rate_limiter.hpp"

namespace chat::broker {

class websocket_session;

/// What every connection of this broker shares: settings, identity, the NATS connection
/// and the registry of live connections. Sessions are held only as weak_ptr, so the
/// registry never keeps a closed connection alive.
class shared_state {
public:
    shared_state(boost::asio::io_context& ioc, broker_settings settings, std::shared_ptr<spdlog::logger> log);
    ~shared_state();

    const broker_settings& settings() const { return settings_; }
    spdlog::logger& log() { return *log_; }
    /// Changes on every start: tells logic which accounts an older run of this id held.
    const std::string& epoch() const { return epoch_; }
    bus::connection& nats() { return nats_; }
    bus::requester& requester() { return requester_; }

    /// A number for a new connection, unique within this run; its key is "<epoch>/<n>".
    std::uint64_t next_conn_id() { return next_conn_++; }

    void join(std::uint64_t conn_id, const std::weak_ptr<websocket_session>& session);
    void leave(std::uint64_t conn_id);
    /// The connection an account is bound to on this broker.
    void bind(std::int64_t account_id, const std::weak_ptr<websocket_session>& session);
    void unbind(std::int64_t account_id, const websocket_session* session);
    std::shared_ptr<websocket_session> find_account(std::int64_t account_id);
    /// A connection whose RECONNECT to `account_id` is in flight: it holds the account's
    /// pushes until its resume is written, so none slips past it unseen.
    void hold(std::int64_t account_id, const std::weak_ptr<websocket_session>& session);
    void unhold(std::int64_t account_id, const websocket_session* session);
    std::shared_ptr<websocket_session> find_holding(std::int64_t account_id);
    /// The live connection with key `conn_key`, if it belongs to this run of the broker.
    std::shared_ptr<websocket_session> find_connection(const std::string& conn_key);
    std::vector<std::shared_ptr<websocket_session>> all_sessions();
    std::size_t connection_count();

    /// Rate limits (true: go ahead). Limits set to 0 in the config always allow.
    bool allow_account_message(std::int64_t account_id);
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
    bus::connection nats_;
    bus::requester requester_;

    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<websocket_session>> sessions_;
    std::unordered_map<std::int64_t, std::weak_ptr<websocket_session>> accounts_;
    std::unordered_map<std::int64_t, std::weak_ptr<websocket_session>> holding_;

    std::unique_ptr<util::keyed_rate_limiter> account_messages_;   // null: no limit
    std::unique_ptr<util::keyed_rate_limiter> address_accounts_;
    std::unique_ptr<util::keyed_rate_limiter> address_connections_;
};

}  // namespace chat::broker
