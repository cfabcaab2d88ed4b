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
/// commands, storing queued DIALOGUEs (and MATCHes) of many connections in one
/// transaction each: group commit.
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
    // What a worker takes at once: a group of DIALOGUEs, MATCHes or ACKs, or one other
    // command.
    enum class queue_kind { dialogues, matches, acks, commands };
    static constexpr int k_queue_kinds = 4;
    using grouped_handler = std::vector<proto::Reply> (command_handler::*)(const std::vector<const proto::Request*>&,
                                                                          side_effects&);

    void on_command(bus::message&& m);
    void on_heartbeat(bus::message&& m);
    void enqueue(job j);
    void worker_loop();
    /// Waits for work and takes the next group (the queues take turns); returns false
    /// when stopping and nothing is left.
    bool next_work(std::vector<job>& taken, queue_kind& kind);
    /// A worker finished what next_work gave it.
    void work_done(queue_kind kind);
    /// One transaction for the whole group; if it fails, each request alone, so one bad
    /// request cannot fail the others it was grouped with.
    void run_grouped(command_handler& handler, grouped_handler handle, std::vector<job>& jobs, const char* what);
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
    std::deque<job> queues_[k_queue_kinds];  // by queue_kind
    bool stopping_ = false;
    int turn_ = 0;  // the queue looked at first next time, so no kind starves the others
    int dialogue_transactions_ = 0;  // in flight, at most settings_.dialogue_transactions...
    int queued_dialogue_items_ = 0;  // ... unless a full batch waits
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
int run_logic(const config::source& config);

}  // namespace chat::logic
