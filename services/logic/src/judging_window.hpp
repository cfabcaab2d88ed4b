#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>

namespace chat::logic {

/// When the reaper may judge brokers silent by their last heartbeat in the database.
/// That heartbeat is only evidence once heartbeats could be heard (NATS up) and recorded
/// (PostgreSQL up, recording not failing) for a full broker timeout: after this process
/// started, NATS came back, the database came back, or recording heartbeats failed,
/// nobody is judged until then. The clock is the caller's: every call takes `now`.
class judging_window {
public:
    using clock = std::chrono::steady_clock;

    explicit judging_window(std::chrono::milliseconds broker_timeout) : broker_timeout_(broker_timeout) {}

    /// Each sweep (the reaper's thread): whether NATS is connected now.
    void observe_nats(bool connected, clock::time_point now) {
        if (!connected)
            hearing_since_.reset();
        else if (!hearing_since_)
            hearing_since_ = now;
    }

    /// The reaper's database connection (re)opened (the reaper's thread).
    void database_up(clock::time_point now) { database_since_ = now; }

    /// Heartbeats may have gone unrecorded: recording failed, or a connection that may
    /// have failed to record them was replaced (any thread).
    void heartbeat_trouble(clock::time_point now) { trouble_at_ = now.time_since_epoch().count(); }

    /// Whether brokers silent for the broker timeout may be judged now (the reaper's thread).
    bool may_judge(clock::time_point now) const {
        const auto trouble = clock::time_point(clock::duration(trouble_at_.load()));
        return hearing_since_ && now - std::max({*hearing_since_, database_since_, trouble}) >= broker_timeout_;
    }

private:
    const std::chrono::milliseconds broker_timeout_;
    std::optional<clock::time_point> hearing_since_;  // NATS connected since
    clock::time_point database_since_{};
    std::atomic<clock::rep> trouble_at_{0};
};

}  // namespace chat::logic
