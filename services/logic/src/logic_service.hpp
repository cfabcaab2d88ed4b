#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "services/logic/src/admin_api.hpp"
#include "services/logic/src/command_handler.hpp"
#include "services/logic/src/command_scheduler.hpp"
#include "services/logic/src/heartbeat_book.hpp"
#include "services/logic/src/judging_window.hpp"
#include "services/logic/src/logic_metrics.hpp"
#include "services/logic/src/moderation_store.hpp"
#include "services/logic/src/retention.hpp"
#include "services/logic/src/settings.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/metrics/status_server.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// Serves the command subjects in the queue group chat-logic: NATS threads only decode
/// and hand commands to the command_scheduler; `workers` threads, each with its own
/// PostgreSQL connection, run the groups it gives them (group commit); a reaper thread
/// records broker heartbeats and takes away the accounts of silent brokers, and a retention
/// thread deletes what is past its time. This class wires those parts to NATS and PostgreSQL.
class logic_service {
public:
    logic_service(logic_settings settings, std::shared_ptr<spdlog::logger> log);
    ~logic_service();

    /// Stops taking commands, finishes every one already taken, then returns.
    void stop();

private:
    void on_command(bus::message&& m);
    void on_heartbeat(bus::message&& m);
    void worker_loop();
    /// A worker's connection, opened and prepared; null when stopping first.
    std::unique_ptr<store> connect_worker();
    /// Runs what the scheduler gave, publishes its effects and replies.
    void run_work(command_handler& handler, work_kind kind, std::vector<command_job>& jobs);
    /// Answers every job with `r` (when it wants a reply).
    void reply_all(const std::vector<command_job>& jobs, const proto::Reply& r);
    void reaper_loop();
    /// One sweep on the reaper's connection: records heartbeats, ends the grace of
    /// accounts away too long and, when `may_judge`, takes away silent brokers' accounts.
    void sweep(store& db, bool may_judge);
    void publish_effects(const side_effects& effects);
    void reply(const std::string& to, const proto::Reply& r);
    /// Empty when ready (NATS and PostgreSQL connected), else what is missing (/readyz).
    std::string readiness() const;

    logic_settings settings_;
    std::shared_ptr<spdlog::logger> log_;
    metrics::service_metrics metrics_{"logic"};
    logic_metrics recorded_{metrics_};
    bus::connection nats_;
    std::atomic<bool> postgres_ok_{false};  // the reaper's last sweep reached PostgreSQL
    std::unique_ptr<metrics::status_server> status_;  // http.port: /metrics, /healthz, /readyz
    // admin.port: the moderation API and page, on a connection of their own.
    std::unique_ptr<pg_moderation_store> moderation_;
    std::unique_ptr<admin_api> admin_api_;
    std::unique_ptr<http::server> admin_server_;

    command_scheduler scheduler_;
    heartbeat_book heartbeats_;
    judging_window judging_;
    std::atomic<bool> stop_flag_{false};
    std::mutex reaper_mutex_;
    std::condition_variable reaper_wake_;
    bool reaper_stopping_ = false;

    std::vector<std::thread> workers_;
    std::thread reaper_;
    std::unique_ptr<retention> retention_;  // retention.enabled: the purge thread
    // Subscriptions last: destroyed (unsubscribed) first.
    bus::subscription command_sub_;
    bus::subscription heartbeat_sub_;
};

/// Runs chat-logic with the config file until SIGINT/SIGTERM; returns the exit code.
int run_logic(const config::source& config);

}  // namespace chat::logic
