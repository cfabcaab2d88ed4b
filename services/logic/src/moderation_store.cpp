#include "services/logic/src/moderation_store.hpp"

namespace chat::logic {

namespace {

// A function's jsonb answer; SQL NULL ("no such row") as nothing.
std::optional<nlohmann::json> maybe_json(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return nlohmann::json::parse(f.c_str());
}

nlohmann::json json_of(const pqxx::field& f) { return maybe_json(f).value_or(nlohmann::json()); }

}  // namespace

pg_moderation_store::pg_moderation_store(std::string url) : url_(std::move(url)) {}

template <typename Run>
auto pg_moderation_store::in_transaction(Run&& run) {
    std::lock_guard lock(mutex_);
    if (conn_ && !conn_->is_open()) conn_.reset();
    try {
        if (!conn_) conn_ = std::make_unique<pqxx::connection>(url_);
        pqxx::work tx(*conn_);
        auto result = run(tx);
        tx.commit();
        return result;
    } catch (const pqxx::broken_connection&) {
        conn_.reset();  // the next request opens a new one
        throw;
    }
}

nlohmann::json pg_moderation_store::stats() {
    return in_transaction([](pqxx::work& tx) { return json_of(tx.exec1("SELECT chat_admin_stats()")[0]); });
}

nlohmann::json pg_moderation_store::reports(const std::string& state, int limit) {
    return in_transaction(
        [&](pqxx::work& tx) { return json_of(tx.exec_params1("SELECT chat_admin_reports($1, $2)", state, limit)[0]); });
}

std::pair<resolve_outcome, nlohmann::json> pg_moderation_store::resolve(std::int64_t report_id,
                                                                        const std::string& resolution,
                                                                        const std::string& note) {
    return in_transaction([&](pqxx::work& tx) {
        const auto row =
            tx.exec_params1("SELECT code, report FROM chat_admin_resolve($1, $2, $3)", report_id, resolution, note);
        const auto code = row[0].as<int>();
        const auto outcome = code == 0     ? resolve_outcome::resolved
                             : code == 409 ? resolve_outcome::settled_before
                                           : resolve_outcome::unknown;
        return std::make_pair(outcome, json_of(row[1]));
    });
}

nlohmann::json pg_moderation_store::bans() {
    return in_transaction([](pqxx::work& tx) { return json_of(tx.exec1("SELECT chat_admin_bans()")[0]); });
}

std::optional<nlohmann::json> pg_moderation_store::ban(const ban_request& request) {
    return in_transaction([&](pqxx::work& tx) {
        return maybe_json(tx.exec_params1("SELECT chat_admin_ban($1, $2, $3 * interval '1 second', $4)",
                                          request.account_id, request.address, request.duration_seconds,
                                          request.reason)[0]);
    });
}

std::optional<nlohmann::json> pg_moderation_store::lift(std::int64_t ban_id) {
    return in_transaction(
        [&](pqxx::work& tx) { return maybe_json(tx.exec_params1("SELECT chat_admin_lift($1)", ban_id)[0]); });
}

}  // namespace chat::logic
