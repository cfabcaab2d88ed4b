// The store's pairing and moderation transactions (declared in store.hpp): MATCH and the
// waiting pool, LEAVE, BLOCK and REPORT. The rules are in PostgreSQL
// (migrations/0006_stranger_chat.sql): here they are only called.
#include <fmt/format.h>

#include <stdexcept>

#include "services/logic/src/sql.hpp"
#include "services/logic/src/store.hpp"
#include "services/logic/src/store_internal.hpp"
#include "shared/db/connect.hpp"

namespace chat::logic {
namespace {

using store_internal::split_tags;

long long ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

std::string refusal_text(wire::code code, const match_policy& policy) {
    switch (code) {
        case wire::code::not_logged_in: return "your account is offline; log in again";
        case wire::code::waiting: return "waiting for someone to match";
        case wire::code::banned:
            return "reports from several people paused matching for this account for now";
        case wire::code::too_many_conversations:
            return fmt::format("you already have {} open conversations; leave one first", policy.max_conversations);
        case wire::code::no_data: return "nothing to do";
        default: return "matching failed";
    }
}

// One request's tags as chat_match_many takes them: joined by U+001F, which no tag
// contains (request_checks refuses control characters).
std::string joined_tags(const std::vector<std::string>& tags) {
    std::string out;
    for (const auto& t : tags) {
        if (!out.empty()) out += '\x1f';
        out += t;
    }
    return out;
}

}  // namespace

match_outcome store::run_match(pqxx::transaction_base& tx, const char* mode, std::int64_t account_id,
                               const std::vector<std::string>& interests) {
    const auto point = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return match_outcome_of(tx.exec_prepared1(sql::k_match, mode, account_id, db::text_array(interests), point,
                                              matching_.max_conversations, ms(matching_.repeat_window),
                                              ms(matching_.interest_wait), ms(matching_.retry_after)));
}

// A row of k_match or k_match_many.
match_outcome store::match_outcome_of(const pqxx::row& row) const {
    match_outcome out;
    out.code = static_cast<wire::code>(row[0].as<int>());
    if (out.code != wire::code::ok) {
        out.msg = refusal_text(out.code, matching_);
        if (!row[5].is_null()) out.banned_until = row[5].as<std::string>();
        return out;
    }
    out.session_id = row[1].as<std::int64_t>();
    out.partner_id = row[2].as<std::int64_t>();
    out.partner_name = row[3].as<std::string>();
    out.common_interests = split_tags(row[4]);
    return out;
}

match_outcome store::match(const match_request& request, partition_set& woken) {
    return match_many({request}, woken).front();
}

std::vector<match_outcome> store::match_many(const std::vector<match_request>& requests, partition_set& woken) {
    std::vector<std::int64_t> requesters;
    std::vector<std::string> tags;
    for (const auto& r : requests) {
        requesters.push_back(r.account_id);
        tags.push_back(joined_tags(r.interests));
    }
    auto out = with_retry([&] {
        // One statement: its own transaction, committed when it returns.
        pqxx::nontransaction tx(*conn_);
        const auto rows = tx.exec_prepared(sql::k_match_many, db::bigint_array(requesters), db::text_array(tags),
                                           matching_.max_conversations, ms(matching_.repeat_window),
                                           ms(matching_.interest_wait), ms(matching_.retry_after));
        if (rows.size() != requests.size())
            throw std::runtime_error(fmt::format("chat_match_many answered {} rows for {} MATCHes", rows.size(),
                                                 requests.size()));
        std::vector<match_outcome> outcomes;
        for (const auto& row : rows) outcomes.push_back(match_outcome_of(row));
        return outcomes;
    });
    // Two people who joined the pool at the same moment could not see each other: look
    // again now that both are committed (under the pool lock, see chat_match).
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].code != wire::code::waiting) continue;
        auto again = with_retry([&] {
            pqxx::nontransaction tx(*conn_);
            return run_match(tx, "recheck", requests[i].account_id, {});
        });
        if (again.code == wire::code::ok) out[i] = std::move(again);
    }
    for (const auto& o : out)
        if (o.code == wire::code::ok) woken.insert(partition_of(o.session_id));
    return out;
}

wire::code store::cancel_match(std::int64_t account_id) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_prepared(sql::k_stop_waiting, account_id).empty() ? wire::code::no_data : wire::code::ok;
}

bool store::arrive(std::int64_t account_id, partition_set& woken) {
    const auto outcome = with_retry([&] {
        pqxx::nontransaction tx(*conn_);  // one statement: its own transaction
        return run_match(tx, "arrive", account_id, {});
    });
    if (outcome.code != wire::code::ok) return false;
    woken.insert(partition_of(outcome.session_id));
    return true;
}

int store::retry_waiters(partition_set& woken) {
    std::vector<std::int64_t> due;
    {
        pqxx::nontransaction tx(*conn_);
        for (const auto& r : tx.exec_prepared(sql::k_due_waiters)) due.push_back(r[0].as<std::int64_t>());
    }
    int paired = 0;
    for (const auto id : due) {
        const auto outcome = with_retry([&] {
            pqxx::nontransaction tx(*conn_);
            return run_match(tx, "retry", id, {});
        });
        if (outcome.code != wire::code::ok) continue;
        woken.insert(partition_of(outcome.session_id));
        ++paired;
    }
    return paired;
}

long long store::waiting_count() {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_prepared1(sql::k_waiting_count)[0].as<long long>();
}

wire::code store::leave(std::int64_t session_id, std::int64_t account_id, partition_set& woken) {
    const bool ended = with_retry([&] {
        pqxx::nontransaction tx(*conn_);
        return tx.exec_prepared1(sql::k_leave, session_id, account_id)[0].as<bool>();
    });
    if (!ended) return wire::code::session_closed;
    woken.insert(partition_of(session_id));
    return wire::code::ok;
}

wire::code store::block(std::int64_t session_id, std::int64_t account_id,
                        const std::optional<report_details>& report, partition_set& woken) {
    const auto row = with_retry([&] {
        pqxx::nontransaction tx(*conn_);
        // An empty reason is a BLOCK (k_block turns it into NULL).
        return tx.exec_prepared1(sql::k_block, session_id, account_id, report ? report->reason : std::string(),
                                 report ? report->text : std::string(), matching_.report_threshold,
                                 ms(matching_.report_window), ms(matching_.ban_duration));
    });
    const auto code = static_cast<wire::code>(row[0].as<int>());
    if (code == wire::code::ok && row[1].as<bool>()) woken.insert(partition_of(session_id));
    return code;
}

}  // namespace chat::logic
