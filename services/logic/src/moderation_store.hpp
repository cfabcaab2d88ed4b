#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace chat::logic {

/// A moderator's ban: the account, the address, or both (at least one).
struct ban_request {
    std::optional<std::int64_t> account_id;
    std::optional<std::string> address;
    std::int64_t duration_seconds = 0;
    std::string reason;
};

/// How settling a report went.
enum class resolve_outcome { resolved, unknown, settled_before };

/// What the admin API reads and changes, in the API's JSON shapes (docs/operations.md,
/// "Moderation"). An interface so the API's routing and checks are tested without
/// PostgreSQL.
class moderation_store {
public:
    virtual ~moderation_store() = default;
    virtual nlohmann::json stats() = 0;
    virtual nlohmann::json reports(const std::string& state, int limit) = 0;  // state: open, resolved, all
    virtual std::pair<resolve_outcome, nlohmann::json> resolve(std::int64_t report_id, const std::string& resolution,
                                                               const std::string& note) = 0;
    virtual nlohmann::json bans() = 0;
    virtual std::optional<nlohmann::json> ban(const ban_request& request) = 0;  // nullopt: unknown account
    virtual std::optional<nlohmann::json> lift(std::int64_t ban_id) = 0;         // nullopt: no such ban in force
};

/// The store on PostgreSQL: the chat_admin_* functions of migrations/0010, one
/// statement each, on a connection of its own, opened at the first request and again
/// after it breaks (pqxx::broken_connection reaches the caller: "unavailable").
class pg_moderation_store final : public moderation_store {
public:
    explicit pg_moderation_store(std::string url);

    nlohmann::json stats() override;
    nlohmann::json reports(const std::string& state, int limit) override;
    std::pair<resolve_outcome, nlohmann::json> resolve(std::int64_t report_id, const std::string& resolution,
                                                       const std::string& note) override;
    nlohmann::json bans() override;
    std::optional<nlohmann::json> ban(const ban_request& request) override;
    std::optional<nlohmann::json> lift(std::int64_t ban_id) override;

private:
    // Runs `run` in a transaction on the (re)opened connection.
    template <typename Run>
    auto in_transaction(Run&& run);

    std::string url_;
    std::mutex mutex_;  // one request at a time on the one connection
    std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace chat::logic
