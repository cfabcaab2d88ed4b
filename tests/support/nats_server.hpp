#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/child_process.hpp"

namespace chat::test {

/// A private nats-server on free ports (client + monitoring). Every test owns its own
/// because some tests kill it.
class nats_server {
  public:
    /// Starts it and waits until it accepts clients; logs go to log_dir/nats.log.
    explicit nats_server(const std::filesystem::path& log_dir);
    ~nats_server();
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    std::uint16_t port() const { return port_; }
    std::uint16_t monitor_port() const { return monitor_port_; }
    child_process& process() { return *process_; }

    void stop();
    void kill9();
    /// Starts again on the same ports (after stop() or kill9()) and waits until ready.
    void restart();

    /// GET a monitoring endpoint such as "/connz?subs=1" as JSON (null if it fails).
    nlohmann::json monitor(const std::string& target) const;

  private:
    void start();
    void wait_ready();

    std::filesystem::path log_file_;
    std::uint16_t port_;
    std::uint16_t monitor_port_;
    std::unique_ptr<child_process> process_;
};

}  // namespace chat::test
