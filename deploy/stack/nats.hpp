#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/process.hpp"

namespace chat::stack {

struct nats_options {
    /// server_name; also names the log file (DIR/<name>.log).
    std::string name = "nats";
    std::filesystem::path dir;
    /// 0: free ports.
    std::uint16_t port = 0;
    std::uint16_t monitor_port = 0;
    /// A cluster member: cluster_name, its own route port, and the route ports of the
    /// other members (full mesh). Empty cluster_name: a single server.
    std::string cluster_name;
    std::uint16_t cluster_port = 0;
    std::vector<std::uint16_t> routes;
    bool detached = false;
};

/// A private nats-server: one node, or one member of a cluster. Some tests kill it, so
/// it can be killed and restarted on the same ports.
class nats_server {
  public:
    /// Starts it and waits until it accepts clients.
    explicit nats_server(nats_options options);
    /// Adopts a server a detached system started (see to_json).
    nats_server(const nlohmann::json& state, bool detached);
    /// Compatibility: one node on free ports, its log in log_dir/nats.log.
    explicit nats_server(const std::filesystem::path& log_dir);
    ~nats_server();
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    const std::string& name() const { return options_.name; }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(options_.port); }
    std::uint16_t port() const { return options_.port; }
    std::uint16_t monitor_port() const { return options_.monitor_port; }
    std::uint16_t cluster_port() const { return options_.cluster_port; }
    child_process& process() { return *process_; }

    void stop();
    void kill9();
    /// Starts again on the same ports (after stop() or kill9()) and waits until ready.
    void restart();
    void release() { process_->release(); }

    /// GET a monitoring endpoint such as "/connz?subs=1" as JSON (null if it fails).
    nlohmann::json monitor(const std::string& target) const;
    /// Routes this node has to other cluster members (/routez num_routes).
    int routes() const;

    nlohmann::json to_json() const;

  private:
    void start();
    void wait_ready();

    nats_options options_;
    std::filesystem::path log_file_;
    std::unique_ptr<child_process> process_;
};

}  // namespace chat::stack
