#pragma once

#include <spdlog/logger.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "services/dispatcher/src/dispatch_metrics.hpp"
#include "services/dispatcher/src/settings.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/metrics/status_server.hpp"

namespace chat::dispatcher {

/// Drains the session inboxes: `workers` drainers, each owning a share of the partitions,
/// woken by logic's chat.dispatch.wake right after a commit and by a slow sweep as a
/// safety net. Also publishes the pushes logic makes itself (chat.dispatch.push): the
/// dispatcher is the only publisher of broker.<id>.push.
class dispatcher_service {
public:
    dispatcher_service(dispatcher_settings settings, std::shared_ptr<spdlog::logger> log);
    ~dispatcher_service();

    /// Finishes the drains under way, gives the partitions back, returns.
    void stop();

private:
    static constexpr int k_max_partitions = 4096;

    struct worker_state {
        std::mutex mutex;
        std::condition_variable wake;
        std::set<int> dirty;
    };

    void on_wake(bus::message&& m);
    void on_routed_push(bus::message&& m);
    void worker_loop(int index);
    void run_drainer(int index);
    void set_owner(int partition, int worker);
    /// Empty when ready (NATS and PostgreSQL connected), else what is missing (/readyz).
    std::string readiness() const;

    dispatcher_settings settings_;
    std::shared_ptr<spdlog::logger> log_;
    metrics::service_metrics metrics_{"dispatcher"};
    dispatch_metrics recorded_{metrics_};
    bus::connection nats_;
    std::atomic<int> drainers_connected_{0};
    std::unique_ptr<metrics::status_server> status_;  // http.port: /metrics, /healthz, /readyz
    std::atomic<bool> stopping_{false};
    std::vector<std::unique_ptr<worker_state>> states_;
    std::array<std::atomic<int>, k_max_partitions> owner_;  // partition → worker index, or -1
    std::vector<std::thread> workers_;
    // Last: unsubscribed first.
    bus::subscription wake_sub_;
    bus::subscription push_sub_;
};

/// Runs chat-dispatcher with the config file until SIGINT/SIGTERM; returns the exit code.
int run_dispatcher(const config::source& config);

}  // namespace chat::dispatcher
