#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "shared/bus/nats_connection.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::broker {

class typing_bus;

/// This broker hears chat.typing.<account> while a lease for the account lives: a
/// connection takes one when it binds to an account and drops it when it unbinds.
class typing_lease {
public:
    typing_lease() = default;
    typing_lease(typing_lease&& other) noexcept;
    typing_lease& operator=(typing_lease&& other) noexcept;
    ~typing_lease();

private:
    friend class typing_bus;
    typing_lease(typing_bus* bus, std::int64_t account_id) : bus_(bus), account_id_(account_id) {}
    void release();

    typing_bus* bus_ = nullptr;
    std::int64_t account_id_ = 0;
};

/// TYPING between brokers, straight over NATS and never through logic (no PostgreSQL
/// work): a broker publishes proto::Typing on chat.typing.<receiver> and hears
/// chat.typing.<account> for every account bound to it (docs/architecture.md, "TYPING").
///
/// One subscription per bound account means many subscriptions, and cnats by default
/// gives each asynchronous subscription a thread of its own. So these live on a NATS
/// connection of their own (named chat-broker-<id>-typing in /connz) whose subscriptions
/// share cnats' global delivery threads (natsOptions_UseGlobalMessageDelivery): a few
/// threads however many accounts, and the broker's main connection (pushes, replies)
/// keeps its dedicated threads, so a typing flood never delays a push or a reply. A
/// single wildcard subscription to chat.typing.* would also need one thread, but then
/// every broker would receive every TYPING of the whole system.
///
/// Thread-safe. The handler runs on a cnats thread: it must only look the receiver up
/// and post to its connection's strand.
class typing_bus {
public:
    using handler = std::function<void(const proto::Typing&)>;

    typing_bus(bus::connection::options options, std::shared_ptr<spdlog::logger> log);
    ~typing_bus();

    /// Where received TYPINGs go; set once, before the first listen().
    void on_typing(handler h) { handler_ = std::move(h); }
    /// Hear chat.typing.<account_id> while the lease lives (several leases of one account
    /// share one subscription). An empty lease when NATS refused the subscription.
    typing_lease listen(std::int64_t account_id);
    /// Best effort: a TYPING that cannot be published now is dropped (and logged).
    void publish(const proto::Typing& typing);
    /// The accounts this broker hears (for tests and diagnostics).
    std::size_t accounts() const;
    /// Stops hearing and closes the connection (broker shutdown).
    void drain(std::chrono::milliseconds timeout);

private:
    friend class typing_lease;
    void release(std::int64_t account_id);
    void on_message(bus::message&& m);

    struct entry {
        int leases = 0;
        bus::subscription sub;
    };

    std::shared_ptr<spdlog::logger> log_;
    handler handler_;
    bus::connection nats_;
    mutable std::mutex mutex_;
    std::unordered_map<std::int64_t, entry> subs_;  // last: unsubscribed first
};

}  // namespace chat::broker
