#include "services/logic/src/retention.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "services/logic/src/sql.hpp"
#include "shared/db/connect.hpp"

namespace chat::logic {
namespace {

long long window_ms(std::chrono::milliseconds window) { return static_cast<long long>(window.count()); }

/// The lock is the connection's until unlocked (or the connection closes): released on
/// every way out of a round.
class round_lock {
public:
    explicit round_lock(pqxx::connection& conn) : conn_(conn) {
        pqxx::nontransaction tx(conn_);
        held_ = tx.exec_prepared1(sql::k_retention_try_lock, sql::k_retention_lock_class)[0].as<bool>();
    }
    ~round_lock() {
        if (!held_) return;
        try {
            pqxx::nontransaction tx(conn_);
            tx.exec_prepared(sql::k_retention_unlock, sql::k_retention_lock_class);
        } catch (const std::exception&) {
            // The connection is gone, and the lock with it.
        }
    }
    round_lock(const round_lock&) = delete;
    round_lock& operator=(const round_lock&) = delete;

    bool held() const { return held_; }

private:
    pqxx::connection& conn_;
    bool held_ = false;
};

}  // namespace

std::optional<purge_counts> purge_round(pqxx::connection& conn, const retention_policy& policy,
                                        const std::function<bool()>& pause,
                                        const std::function<void(const char* kind, long long rows)>& deleted) {
    round_lock lock(conn);
    if (!lock.held()) return std::nullopt;
    purge_counts counts;
    bool first = true;
    // One batch: a statement outside BEGIN, its own transaction. Returns whether to go on.
    auto batch = [&](const char* statement, std::chrono::milliseconds window, int rows, auto&& read) {
        if (!first && !pause()) return false;
        first = false;
        pqxx::nontransaction tx(conn);
        const auto row = tx.exec_prepared1(statement, window_ms(window), rows);
        ++counts.batches;
        return read(row);
    };
    // The sessions and the reports functions answer (count, count, more).
    auto two_kinds = [&](const char* statement, std::chrono::milliseconds window, const char* first_kind,
                         long long& first_total, const char* second_kind, long long& second_total) {
        while (batch(statement, window, policy.batch, [&](const pqxx::row& r) {
            first_total += r[0].as<long long>();
            second_total += r[1].as<long long>();
            deleted(first_kind, r[0].as<long long>());
            deleted(second_kind, r[1].as<long long>());
            return r[2].as<bool>();
        })) {
        }
    };
    if (policy.messages.count() > 0)
        two_kinds(sql::k_purge_sessions, policy.messages, "sessions", counts.sessions, "messages", counts.messages);
    if (policy.accounts.count() > 0) {
        // An account costs about ten rows: deleting it checks the nine foreign keys that
        // name it (measured: 0.4 ms an account, against 0.03 ms a message).
        const int accounts_per_batch = std::max(1, policy.batch / 10);
        while (batch(sql::k_purge_accounts, policy.accounts, accounts_per_batch, [&](const pqxx::row& r) {
            const auto accounts = r[0].as<long long>();
            counts.accounts += accounts;
            deleted("accounts", accounts);
            return accounts >= accounts_per_batch;
        })) {
        }
    }
    if (policy.reports.count() > 0)
        two_kinds(sql::k_purge_reports, policy.reports, "reports", counts.reports, "bans", counts.bans);
    return counts;
}

retention::retention(retention_policy policy, std::string postgres_url, logic_metrics& metrics,
                     std::shared_ptr<spdlog::logger> log)
    : policy_(std::move(policy)),
      postgres_url_(std::move(postgres_url)),
      metrics_(metrics),
      log_(std::move(log)),
      thread_([this] { loop(); }) {}

retention::~retention() { stop(); }

void retention::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool retention::wait(std::chrono::milliseconds how_long) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, how_long, [this] { return stopping_.load(); });
}

void retention::loop() {
    std::unique_ptr<pqxx::connection> conn;
    while (wait(policy_.interval)) {
        const auto started = std::chrono::steady_clock::now();
        try {
            if (!conn) {
                conn = db::connect_with_retry(postgres_url_, stopping_, *log_);
                if (!conn) return;
                sql::prepare_retention(*conn);
            }
            const auto counts = purge_round(
                *conn, policy_, [this] { return wait(policy_.pause); },
                [this](const char* kind, long long rows) { metrics_.retention_deleted(kind, rows); });
            if (!counts) {
                log_->debug("retention: another logic process is purging");
                continue;
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            const long long total = counts->messages + counts->sessions + counts->accounts + counts->reports + counts->bans;
            log_->log(total > 0 ? spdlog::level::info : spdlog::level::debug,
                      "retention: deleted {} messages in {} conversations, {} accounts, {} reports, {} bans "
                      "in {:.1f} s ({} batches)",
                      counts->messages, counts->sessions, counts->accounts, counts->reports, counts->bans, seconds,
                      counts->batches);
        } catch (const pqxx::broken_connection& e) {
            log_->warn("retention lost the PostgreSQL connection: {}; again in {} ms", e.what(),
                       policy_.interval.count());
            conn.reset();
        } catch (const std::exception& e) {
            // Once per round at most: rounds are an interval apart.
            log_->error("retention: the purge failed: {}; again in {} ms", e.what(), policy_.interval.count());
            if (conn && !conn->is_open()) conn.reset();
        }
    }
}

}  // namespace chat::logic
