#pragma once

// A bare cnats client for the bus-security tests: it connects once (no retry, so a
// refusal is seen as one), records the server's asynchronous errors (permission
// violations) and counts what its subscriptions receive.

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace chat::test {

struct probe_login {
    std::string user;  // empty: none
    std::string password;
    std::string ca_file;   // non-empty: TLS trusting this CA
    std::string hostname;  // with TLS: the name the certificate must carry
};

class nats_probe {
  public:
    nats_probe(const std::string& url, const probe_login& login);
    ~nats_probe();
    nats_probe(const nats_probe&) = delete;
    nats_probe& operator=(const nats_probe&) = delete;

    bool connected() const { return status_ == NATS_OK; }
    natsStatus status() const { return status_; }
    /// Why connecting failed (cnats' text, e.g. "Authorization Violation").
    const std::string& refusal() const { return refusal_; }

    void publish(const std::string& subject, const std::string& data = "x");
    /// Publishes with a reply subject (a request).
    void request(const std::string& subject, const std::string& reply,
                 const std::string& data = "x");
    /// Subscribes (in `queue` when given); returns the index of its counter.
    std::size_t subscribe(const std::string& subject, const std::string& queue = "");
    /// Messages received by subscription `index` so far.
    int received(std::size_t index) const;
    /// The reply subject of the last message subscription `index` received.
    std::string last_reply(std::size_t index) const;
    /// Round trip to the server: what was sent before has been processed.
    void flush();

    /// Waits until the server reported an asynchronous error containing `fragment`.
    bool wait_error(const std::string& fragment,
                    std::chrono::milliseconds timeout = std::chrono::seconds(3));
    std::vector<std::string> errors() const;

  private:
    struct inbox {
        nats_probe* owner;
        std::atomic<int> count{0};
        std::string reply;
        natsSubscription* sub = nullptr;
    };
    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
    static void on_error(natsConnection* nc, natsSubscription*, natsStatus s, void* self);
    static void on_closed(natsConnection*, void* self);

    natsConnection* nc_ = nullptr;
    natsStatus status_ = NATS_ERR;
    std::string refusal_;
    mutable std::mutex mutex_;
    std::vector<std::string> errors_;
    std::condition_variable closed_cv_;
    bool closed_ = false;
    std::vector<std::unique_ptr<inbox>> inboxes_;
};

/// Opens a plain TCP connection to `port`, sends `bytes`, and returns everything the
/// server sent until it closed the connection or `timeout` passed.
std::string plain_exchange(std::uint16_t port, const std::string& bytes,
                           std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace chat::test
