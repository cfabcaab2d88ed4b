#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "services/broker/src/settings.hpp"
#include "shared/bus/nats_connection.hpp"

namespace chat::broker {

class broker_context;
class listener;

/// The broker process: the io_context and its threads, the listener, the push
/// subscription on broker.<id>.push, and the presence announcements (hello at start,
/// then a heartbeat every interval).
class broker_service {
public:
    broker_service(broker_settings settings, std::shared_ptr<spdlog::logger> log);
    ~broker_service();

    /// Serves until SIGINT/SIGTERM, then closes every connection and returns.
    void run();

private:
    void on_push(bus::message&& m);
    void send_hello();
    void heartbeat();
    void begin_shutdown();
    void wait_for_goodbyes(std::chrono::steady_clock::time_point deadline);

    boost::asio::io_context ioc_;
    std::shared_ptr<spdlog::logger> log_;
    std::shared_ptr<broker_context> ctx_;
    std::shared_ptr<listener> listener_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer hello_timer_;
    boost::asio::steady_timer shutdown_timer_;
    boost::asio::signal_set signals_;
    bus::subscription push_sub_;  // last: unsubscribed first
};

/// Runs chat-broker with the config file; returns the exit code.
int run_broker(const config::source& config);

}  // namespace chat::broker
