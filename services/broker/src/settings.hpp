#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "shared/config/common_settings.hpp"

namespace chat::broker {

struct broker_settings {
    std::string id = "b1";
    std::string address = "127.0.0.1";
    unsigned short port = 8080;
    int threads = 2;
    std::string web_root = "web/dist";
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds heartbeat_interval{1000};
    std::size_t max_frame_bytes = 65536;
    std::size_t max_queued_frames = 4096;     // a client further behind is dropped
    // Rate limits; 0 turns a limit off. Bursts are twice the per-second rate.
    int messages_per_second = 0;             // per connection, every command but PONG and ACK
    int account_messages_per_second = 0;     // per account on this broker, across reconnects
    int accounts_per_minute_per_address = 0; // CRT_ACCOUNT
    int connections_per_minute_per_address = 0;  // WebSocket upgrades
    // Origins allowed to open a WebSocket besides the broker's own (same host and port).
    std::vector<std::string> allowed_origins;
    // Peers (addresses, CIDR ranges) whose X-Forwarded-For names the client (client_address.hpp).
    std::vector<std::string> trusted_proxies;
    std::chrono::milliseconds ping_interval{10000};
    std::chrono::milliseconds ping_max_wait{30000};
    config::nats_settings nats;
    config::log_settings log;
};

/// Reads deploy/config/broker.yaml-shaped files; unknown keys are an error.
broker_settings load_broker_settings(const config::source& from);

}  // namespace chat::broker
