#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "deploy/stack/process.hpp"

namespace chat::stack {

struct nginx_options {
    /// nginx.conf, its logs, pid and temp files go in DIR/nginx/.
    std::filesystem::path dir;
    /// 0: a free port.
    std::uint16_t port = 0;
    /// The brokers behind it (127.0.0.1:PORT each).
    std::vector<std::uint16_t> brokers;
    /// The built web client it serves at /.
    std::filesystem::path web_root;
    /// A WebSocket that carries nothing this long is closed. The broker PINGs every
    /// ping.interval (10 s) and gives up after ping.max_wait (30 s): above both, so
    /// nginx never ends a live connection the broker would keep.
    std::chrono::seconds ws_timeout{75};
    bool detached = false;
};

/// The load balancer in front of the brokers: Debian's nginx, run privately with
/// `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`. It serves the web client and
/// proxies /ws (the WebSocket upgrade) and /healthz to the brokers, adding
/// X-Forwarded-For so a broker that trusts it sees each client's own address.
class nginx_server {
  public:
    /// Writes the config, starts nginx and waits until it answers /healthz through a broker
    /// (so start it after the brokers).
    explicit nginx_server(nginx_options options);
    /// Adopts an nginx a detached system started (see to_json).
    nginx_server(const nlohmann::json& state, bool detached);
    ~nginx_server();
    nginx_server(const nginx_server&) = delete;
    nginx_server& operator=(const nginx_server&) = delete;

    static constexpr const char* k_name = "nginx";
    std::uint16_t port() const { return options_.port; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(options_.port) + "/"; }
    child_process& process() { return *process_; }

    void stop();
    void kill9();
    void restart();
    void release() { process_->release(); }
    /// True when a broker answers /healthz through it.
    bool healthy() const;

    nlohmann::json to_json() const;

  private:
    void start();
    /// Returns once a broker answers /healthz through nginx; throws with its log if not.
    void wait_healthy();

    nginx_options options_;
    std::unique_ptr<child_process> process_;
};

/// The nginx.conf for `options` (the directory is options.dir/nginx).
std::string nginx_config(const nginx_options& options);

}  // namespace chat::stack
