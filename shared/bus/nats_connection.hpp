#pragma once

#include <nats/nats.h>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chat::config {
struct nats_settings;
}

namespace chat::bus {

/// A cnats call failed; what() carries cnats' own text.
struct nats_error : std::runtime_error {
    nats_error(const std::string& what, natsStatus status);
    natsStatus status;
};

/// Throws nats_error unless `s` is NATS_OK; the message adds cnats' last error text.
void check(natsStatus s, const char* what);

struct msg_deleter {
    void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using msg_ptr = std::unique_ptr<natsMsg, msg_deleter>;

/// A received message; owns the natsMsg.
class message {
public:
    explicit message(natsMsg* m) : msg_(m) {}
    std::string_view subject() const { return natsMsg_GetSubject(msg_.get()); }
    /// Empty when the sender expects no reply.
    std::string_view reply() const;
    std::string_view data() const;
    /// The server's answer to a request nobody is subscribed to.
    bool no_responders() const { return natsMsg_IsNoResponders(msg_.get()); }

private:
    msg_ptr msg_;
};

using message_handler = std::function<void(message&&)>;

/// An active subscription; unsubscribes when destroyed, after which its handler is
/// never called again.
class subscription {
public:
    subscription() = default;
    explicit subscription(natsSubscription* sub) : sub_(sub) {}
    subscription(subscription&&) noexcept = default;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();

    /// Stop receiving, letting messages already queued be handled first.
    void drain();

private:
    struct sub_deleter {
        void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
    };
    void release();

    std::unique_ptr<natsSubscription, sub_deleter> sub_;
};

/// One connection to NATS. It is usable at once, even before the server answers: cnats
/// keeps retrying the first connect and every later reconnect forever, with backoff, and
/// this class logs each change of state (with the server's URL, never a password).
class connection {
public:
    struct options {
        /// One URL or a comma-separated list; cnats shuffles the list, connects to one
        /// and fails over to the others (and to those the cluster announces).
        std::string url;
        std::string name;                 // shown in nats-server's /connz
        bool send_asap = false;           // flush every publish now instead of coalescing
        // Defaulted ({}), so `{url, name}` stays a complete initializer.
        std::string user{};               // empty: no authentication
        std::string password{};
        std::string tls_ca_file{};        // non-empty: TLS, trusting this CA
        std::string tls_server_name{};    // the name the server certificate must carry
        /// Deliver every subscription's messages on cnats' shared delivery threads instead
        /// of a thread per subscription: for a connection with many subscriptions.
        bool global_delivery = false;
    };

    connection(const options& opts, std::shared_ptr<spdlog::logger> log);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    bool connected() const;

    void publish(const std::string& subject, std::string_view data);
    void publish_request(const std::string& subject, const std::string& reply, std::string_view data);
    /// Round trip to the server: everything published before has reached it.
    void flush(std::chrono::milliseconds timeout);

    subscription subscribe(const std::string& subject, message_handler handler);
    subscription queue_subscribe(const std::string& subject, const std::string& queue, message_handler handler);

    /// Drains subscriptions and pending publishes, then closes; used on shutdown.
    /// Returns once the connection is closed (or `timeout` and a second more passed).
    void drain(std::chrono::milliseconds timeout);

    /// Runs `hook` (on a cnats thread) every time the connection comes back after an
    /// outage: messages published to us meanwhile were lost.
    void on_reconnected(std::function<void()> hook);

    natsConnection* raw() { return conn_.get(); }
    const std::shared_ptr<spdlog::logger>& logger() const { return log_; }

private:
    struct conn_deleter {
        void operator()(natsConnection* c) const { natsConnection_Destroy(c); }
    };
    static void on_disconnected(natsConnection*, void* self);
    static void on_reconnected(natsConnection*, void* self);
    static void on_connected(natsConnection*, void* self);
    static void on_closed(natsConnection*, void* self);
    static void on_error(natsConnection*, natsSubscription*, natsStatus, void* self);
    bool wait_closed(std::chrono::milliseconds timeout);
    /// The server this connection is (or was last) connected to, without credentials.
    std::string server_url(natsConnection* nc);

    std::shared_ptr<spdlog::logger> log_;
    std::string urls_;  // as configured, without credentials
    std::mutex url_mutex_;
    std::string last_url_;
    std::atomic<std::int64_t> last_error_log_{0};  // nats_Now() of the last async error logged
    std::mutex hook_mutex_;
    std::function<void()> reconnected_hook_;
    // cnats calls the callbacks above on a thread of its own with `this`, the closed one
    // last; until it ran, this object must stay alive (the destructor waits for it).
    std::mutex closed_mutex_;
    std::condition_variable closed_cv_;
    bool closed_ = false;
    std::unique_ptr<natsConnection, conn_deleter> conn_;
};

/// The connection options a service's `nats:` section describes; `name` shows in /connz.
connection::options connection_options(const config::nats_settings& nats, std::string name);

/// `url` without a user or password in it, for logs.
std::string redact_url(const std::string& url);

}  // namespace chat::bus
