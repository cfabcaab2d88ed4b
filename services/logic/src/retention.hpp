#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "services/logic/src/logic_metrics.hpp"
#include "services/logic/src/retention_policy.hpp"

namespace chat::logic {

/// What one purge round deleted.
struct purge_counts {
    long long messages = 0;
    long long sessions = 0;  // conversations
    long long accounts = 0;
    long long reports = 0;
    long long bans = 0;
    long long batches = 0;  // transactions
};

/// One purge round on `conn` (logic's role; statements of sql::prepare_retention prepared):
/// takes the retention lock, then deletes each kind whose window is not 0 in batches of
/// about `policy.batch` rows (an account counts as ten), one transaction each, until a
/// batch leaves nothing to do
/// (conversations with their messages first, then accounts, then reports and bans).
/// Between two batches it calls `pause`, which waits and returns false to end the round
/// early; after each batch `deleted(kind, rows)` with kind messages, sessions, accounts,
/// reports or bans. nullopt when another logic process holds the lock (it is purging).
std::optional<purge_counts> purge_round(pqxx::connection& conn, const retention_policy& policy,
                                        const std::function<bool()>& pause,
                                        const std::function<void(const char* kind, long long rows)>& deleted);

/// Logic's retention (docs/operations.md, "Retention"): a thread with a PostgreSQL
/// connection of its own runs a purge_round every `policy.interval`, off the commands'
/// workers; counts go to chat_retention_deleted_total{kind}, and one log line per round
/// that deleted anything.
class retention {
public:
    retention(retention_policy policy, std::string postgres_url, logic_metrics& metrics,
              std::shared_ptr<spdlog::logger> log);
    ~retention();

    /// Ends the round in progress after its current batch and joins the thread.
    void stop();

private:
    void loop();
    /// Waits `how_long` or until stop(); false when stopping.
    bool wait(std::chrono::milliseconds how_long);

    retention_policy policy_;
    std::string postgres_url_;
    logic_metrics& metrics_;
    std::shared_ptr<spdlog::logger> log_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;  // last: started once everything above is ready
};

}  // namespace chat::logic
