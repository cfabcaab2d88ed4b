#include "services/logic/src/store.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "services/logic/src/sql.hpp"
#include "services/logic/src/store_internal.hpp"
#include "shared/db/connect.hpp"

namespace chat::logic {
namespace {

using store_internal::epoch_of;

// store_dialogues' outcomes (migrations/0003_one_round_trip.sql).
constexpr int k_dialogue_stored = 0, k_dialogue_resent = 1, k_dialogue_not_member = 2;

}  // namespace

store::store(std::unique_ptr<pqxx::connection> conn, presence_policy presence, match_policy matching)
    : conn_(std::move(conn)), policy_(presence), matching_(matching) {
    // Batch statements take arrays; without this PostgreSQL re-plans them on every call.
    pqxx::nontransaction(*conn_).exec("SET plan_cache_mode = force_generic_plan");
    sql::prepare_all(*conn_);
    pqxx::nontransaction tx(*conn_);
    partitions_ = tx.exec_prepared1(sql::k_inbox_partitions)[0].as<int>();
}

std::int64_t store::create_account(const std::string& nickname, const std::string& token_hash,
                                   const connection_ref& where, partition_set& woken) {
    pqxx::work tx(*conn_);
    const auto id = tx.exec_prepared1(sql::k_create_account, nickname, token_hash, where.broker_id, where.conn_key,
                                      static_cast<long long>(policy_.token_ttl.count()), where.client_address)[0]
                        .as<std::int64_t>();
    tx.exec_prepared(sql::k_broker_seen, where.broker_id, epoch_of(where.conn_key));
    tx.commit();
    arrive(id, woken);
    return id;
}

std::vector<dialogue_outcome> store::store_dialogues(const std::vector<dialogue_item>& items,
                                                     partition_set& woken) {
    return with_retry([&] {
        std::vector<std::int64_t> sessions, senders;
        std::vector<std::string> requests, contents;
        for (const auto& item : items) {
            sessions.push_back(item.session_id);
            senders.push_back(item.sender_id);
            requests.push_back(item.request_id);
            contents.push_back(item.content);
        }
        // One statement, its own transaction (see migrations/0003): committed when it
        // returns.
        pqxx::nontransaction tx(*conn_);
        const auto rows = tx.exec_prepared(sql::k_store_dialogues, db::bigint_array(sessions),
                                           db::bigint_array(senders), db::text_array(requests),
                                           db::text_array(contents));
        if (rows.size() != items.size())
            throw std::logic_error(fmt::format("store_dialogues answered {} of {} items", rows.size(), items.size()));
        // Committed already, so the wake-ups can be recorded as the rows are read.
        std::vector<dialogue_outcome> out(items.size());
        for (const auto& row : rows) {
            const auto k = static_cast<std::size_t>(row[0].as<int>() - 1);
            auto& o = out.at(k);
            switch (row[1].as<int>()) {
                case k_dialogue_stored:
                    o.msg_id = row[2].as<std::int64_t>();
                    woken.insert(partition_of(items[k].session_id));
                    break;
                case k_dialogue_resent:
                    o.msg_id = row[2].as<std::int64_t>();  // same msgId, nothing stored or delivered
                    break;
                case k_dialogue_not_member:
                    o = {wire::code::session_closed, "you are not in this session"};
                    break;
                default:
                    o = {wire::code::session_closed, "this session has ended"};
                    break;
            }
        }
        return out;
    });
}

dialogue_outcome store::viewed_ack(std::int64_t session_id, std::int64_t account_id, std::int64_t msg_id,
                                   partition_set& woken) {
    return with_retry([&]() -> dialogue_outcome {
        pqxx::work tx(*conn_);
        const auto s = tx.exec_prepared(sql::k_session_for_viewed, session_id, account_id);
        if (s.empty()) return {wire::code::session_closed, "you are not in this session"};
        if (!s[0][0].as<bool>()) return {wire::code::session_closed, "this session has ended"};
        if (msg_id > s[0][1].as<std::int64_t>())
            return {wire::code::no_data, fmt::format("session {} has no message {}", session_id, msg_id)};
        const auto partner = s[0][2].as<std::int64_t>();
        if (!tx.exec_prepared(sql::k_advance_viewed, session_id, account_id, msg_id, partner).empty())
            woken.insert(partition_of(session_id));
        tx.commit();
        return {};
    });
}

std::vector<ack_rejection> store::ack(std::int64_t account_id,
                                      const std::vector<std::pair<std::int64_t, std::int64_t>>& acks) {
    return ack_many({{account_id, acks}}).front();
}

std::vector<std::vector<ack_rejection>> store::ack_many(const std::vector<account_acks>& batches) {
    return with_retry([&] {
        std::vector<std::int64_t> accounts, sessions, msgs;
        std::vector<std::size_t> batch_of;
        for (std::size_t i = 0; i < batches.size(); ++i)
            for (const auto& [session, msg] : batches[i].acks) {
                accounts.push_back(batches[i].account_id);
                sessions.push_back(session);
                msgs.push_back(msg);
                batch_of.push_back(i);
            }
        // One statement, its own transaction, committed without waiting for the WAL
        // flush (see migrations/0003).
        pqxx::nontransaction tx(*conn_);
        const auto rows = tx.exec_prepared(sql::k_ack_deliveries, db::bigint_array(accounts),
                                           db::bigint_array(sessions), db::bigint_array(msgs));
        std::vector<std::vector<ack_rejection>> rejected(batches.size());
        for (const auto& r : rows) {
            const auto k = static_cast<std::size_t>(r[0].as<int>() - 1);
            const auto session = sessions.at(k), msg = msgs.at(k);
            if (!r[1].as<bool>())
                rejected[batch_of[k]].push_back({session, msg, wire::code::session_closed, "you are not in this session"});
            else if (msg > r[2].as<std::int64_t>())
                rejected[batch_of[k]].push_back(
                    {session, msg, wire::code::no_data, fmt::format("session {} has no message {}", session, msg)});
        }
        return rejected;
    });
}

}  // namespace chat::logic
