#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/bus_users.hpp"
#include "deploy/stack/process.hpp"
#include "deploy/stack/tls.hpp"

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
    /// A locked bus: only these users may connect, each with its permissions (with
    /// passwords); empty: anyone may do anything.
    std::vector<nats_user> users;
    /// With users and a cluster: the user members log in to each other's routes as.
    nats_user route_user;
    /// TLS for clients and routes (clients must then use it); empty: plain TCP.
    tls_files tls;
};

/// A private nats-server: one node, or one member of a cluster, run from a config file
/// (DIR/<name>.conf, see nats_config.hpp). Some tests kill it, so it can be killed and
/// restarted on the same ports.
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
    /// tls:// when clients must use TLS (cnats wants its secure option all the same).
    std::string url() const {
        return (tls_ ? "tls://127.0.0.1:" : "nats://127.0.0.1:") + std::to_string(options_.port);
    }
    bool tls() const { return tls_; }
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
    bool tls_ = false;
    std::filesystem::path log_file_;
    std::unique_ptr<child_process> process_;
};

}  // namespace chat::stack
