#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "command_handler.hpp"
#include "settings.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// Serves the command subjects in the queue group chat-logic: NATS threads only decode
/// and enqueue; `workers` threads, each with its own PostgreSQL connection, run the
/// commands, storing queued DIALOGUEs of many connections in one transaction.
class logic_service {
public:
    logic_service(logic_settings settings, std::shared_ptr<spdlog::logger> log);
    ~logic_service();

    /// Stops taking commands, finishes every one already taken, then returns.
    void stop();

private:
    struct job {
        std::string reply_to;
        proto::Request request;
    };

    void on_command(bus::message&& m);
    void on_heartbeat(bus::message&& m);
    void enqueue(job j);
    void worker_loop();
    /// Waits for work; returns false when stopping and nothing is left.
    bool next_work(std::vector<job>& dialogues, std::optional<job>& command);
    void run_dialogues(command_handler& handler, std::vector<job>& jobs);
    void run_command(command_handler& handler, job& j);
    void reaper_loop();
    /// Records the heartbeats heard since the last sweep (on the reaper's connection).
    void record_heartbeats(store& db);
    void publish_effects(const side_effects& effects);
    void reply(const std::string& to, const proto::Reply& r);

    logic_settings settings_;
    std::shared_ptr<spdlog::logger> log_;
    bus::connection nats_;

    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable reaper_wake_;  // its own: a notify for work must reach a worker
    std::deque<job> commands_;
    std::deque<job> dialogues_;
    bool stopping_ = false;
    bool dialogue_turn_ = true;  // alternate so neither kind starves the other
    std::atomic<bool> stop_flag_{false};
    // When recording broker heartbeats last failed (steady clock, ns): a database outage
    // means heartbeats went unrecorded, so brokers are not judged for a timeout after it.
    std::atomic<std::int64_t> heartbeat_trouble_at_{0};
    // Heartbeats heard since the last sweep (broker id → epoch). They never wait behind
    // commands: a busy logic must not make a busy broker look dead.
    std::mutex heard_mutex_;
    std::map<std::string, std::string> heard_;
    void note_heartbeat_trouble();
    int inbox_partitions_ = 0;

    std::vector<std::thread> workers_;
    std::thread reaper_;
    // Subscriptions last: destroyed (unsubscribed) first.
    bus::subscription command_sub_;
    bus::subscription heartbeat_sub_;
};

/// Runs chat-logic with the config file until SIGINT/SIGTERM; returns the exit code.
int run_logic(const std::string& config_file);

}  // namespace chat::logic
