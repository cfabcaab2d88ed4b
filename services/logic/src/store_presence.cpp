// The store's presence transactions (declared in store.hpp): binding accounts to
// connections (RECONNECT, RESUME and what they missed), away and offline, brokers' liveness.
#include <fmt/format.h>

#include <algorithm>

#include "services/logic/src/sql.hpp"
#include "services/logic/src/store.hpp"
#include "services/logic/src/store_internal.hpp"
#include "shared/db/connect.hpp"
#include "shared/db/inbox_kind.hpp"

namespace chat::logic {
namespace {

using store_internal::epoch_of;
using store_internal::refused;

// Messages per resume page: 100 of at most 4 KiB stay well below NATS's 1 MiB payload.
constexpr int k_resume_page_messages = 100;

// Compares two token hashes without leaking, through timing, how many characters match.
bool same_hash(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

bool store::take_offline(std::int64_t account_id, const std::string& conn_key, bool revoke_token,
                         partition_set& woken) {
    return with_retry([&] {
        pqxx::work tx(*conn_);
        if (tx.exec_prepared(sql::k_take_offline, account_id, conn_key, revoke_token).empty()) return false;
        tx.exec_prepared(sql::k_stop_waiting, account_id);
        std::vector<int> touched;
        for (const auto& row : tx.exec_prepared(sql::k_end_sessions, account_id))
            touched.push_back(partition_of(row[0].as<std::int64_t>()));
        tx.commit();
        woken.insert(touched.begin(), touched.end());
        return true;
    });
}

reconnect_outcome store::reconnect(std::int64_t account_id, const std::string& token_hash,
                                   const connection_ref& where, partition_set& woken) {
    auto outcome = with_retry([&]() -> reconnect_outcome {
        pqxx::work tx(*conn_);
        const auto account = tx.exec_prepared(sql::k_account_for_reconnect, account_id);
        if (account.empty() || account[0][0].is_null() || !same_hash(account[0][0].as<std::string>(), token_hash))
            return refused<reconnect_outcome>(wire::code::bad_token, "unknown account or wrong token");
        const auto& row = account[0];
        if (!row[6].as<bool>()) return refused<reconnect_outcome>(wire::code::bad_token, "the token has expired");
        reconnect_outcome out;
        out.nickname = row[1].as<std::string>();
        // The account's previous connection (online, or away but perhaps still open at a
        // broker thought dead) is closed by its broker.
        if (!row[4].is_null() && row[4].as<std::string>() != where.conn_key) {
            out.replaced_broker = row[3].as<std::string>();
            out.replaced_conn_key = row[4].as<std::string>();
        }
        tx.exec_prepared(sql::k_bind_account, account_id, where.broker_id, where.conn_key, where.client_address);
        tx.exec_prepared(sql::k_broker_seen, where.broker_id, epoch_of(where.conn_key));
        std::vector<int> touched;
        if (row[5].as<bool>())  // it was away: its partners learn it is back
            for (const auto& r : tx.exec_prepared(sql::k_announce_presence, account_id, db::sql_value(db::inbox_kind::partner_back)))
                touched.push_back(partition_of(r[0].as<std::int64_t>()));
        for (const auto& r : tx.exec_prepared(sql::k_open_sessions_of, account_id))
            out.sessions.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                                    store_internal::split_tags(r[3])});
        out.waiting = tx.exec_prepared1(sql::k_is_waiting, account_id)[0].as<bool>();
        out.resume = read_resume(tx, account_id, row[7].as<std::string>(), {});
        tx.commit();
        woken.insert(touched.begin(), touched.end());
        return out;
    });
    // Online again: someone waiting may take them, or their own waiting resumes.
    if (outcome.code == wire::code::ok && arrive(account_id, woken)) outcome.waiting = false;
    return outcome;
}

wire::code store::resume(std::int64_t account_id, const std::string& conn_key,
                         const std::vector<std::pair<std::int64_t, std::int64_t>>& from, resume_page& page,
                         partition_set& woken) {
    bool came_back = false;
    const auto code = with_retry([&] {
        came_back = false;
        pqxx::work tx(*conn_);
        const auto state = tx.exec_prepared(sql::k_recent_window, account_id, conn_key);
        if (state.empty() || state[0][1].is_null() || !state[0][1].as<bool>()) return wire::code::not_logged_in;
        std::vector<int> touched;
        if (!state[0][2].as<bool>()) {
            came_back = true;
            if (!state[0][3].as<bool>()) return wire::code::not_logged_in;  // offline: only RECONNECT helps
            tx.exec_prepared(sql::k_back_on_same_connection, account_id, conn_key);
            for (const auto& r : tx.exec_prepared(sql::k_announce_presence, account_id, db::sql_value(db::inbox_kind::partner_back)))
                touched.push_back(partition_of(r[0].as<std::int64_t>()));
        }
        page = read_resume(tx, account_id, state[0][0].as<std::string>(), from);
        tx.commit();
        woken.insert(touched.begin(), touched.end());
        return wire::code::ok;
    });
    if (code == wire::code::ok && came_back) arrive(account_id, woken);
    return code;
}

resume_page store::read_resume(pqxx::work& tx, std::int64_t account_id, const std::string& window,
                               const std::vector<std::pair<std::int64_t, std::int64_t>>& from) {
    tx.exec_prepared(sql::k_lock_open_sequences, account_id);
    std::vector<std::int64_t> from_sessions, from_msgs;
    for (const auto& [session, msg] : from) {
        from_sessions.push_back(session);
        from_msgs.push_back(msg);
    }
    resume_page page;
    const auto messages = tx.exec_prepared(sql::k_missed_messages, account_id, db::bigint_array(from_sessions),
                                           db::bigint_array(from_msgs), window, k_resume_page_messages);
    for (const auto& r : messages) {
        proto::Delivery d;
        d.set_kind(proto::Delivery::MESSAGE);
        d.set_receiver_id(account_id);
        d.set_session_id(r[0].as<std::int64_t>());
        d.set_msg_id(r[1].as<std::int64_t>());
        d.set_sender_id(r[2].as<std::int64_t>());
        d.set_content(r[3].as<std::string>());
        page.deliveries.push_back(std::move(d));
    }
    page.more = static_cast<int>(messages.size()) == k_resume_page_messages;
    if (page.more) return page;  // read positions and exits come with the last page
    for (const auto& r : tx.exec_prepared(sql::k_resume_state, account_id, window)) {
        proto::Delivery d;
        d.set_receiver_id(account_id);
        d.set_session_id(r[0].as<std::int64_t>());
        d.set_peer_id(r[1].as<std::int64_t>());
        if (const auto viewed = r[2].as<std::int64_t>(); viewed > 0) {
            d.set_kind(proto::Delivery::VIEWED);
            d.set_msg_id(viewed);
            page.deliveries.push_back(d);
        }
        if (r[3].as<bool>()) {
            d.set_kind(proto::Delivery::PARTNER_EXIT);
            d.set_msg_id(0);
            page.deliveries.push_back(d);
        } else if (r[4].as<bool>()) {  // the partner dropped too and has not come back yet
            d.set_kind(proto::Delivery::PARTNER_AWAY);
            d.set_msg_id(0);
            page.deliveries.push_back(d);
        }
    }
    // Per session: messages first, then the read position, then the exit or away state.
    std::stable_sort(page.deliveries.begin(), page.deliveries.end(),
                     [](const proto::Delivery& a, const proto::Delivery& b) { return a.session_id() < b.session_id(); });
    return page;
}

bool store::connection_lost(std::int64_t account_id, const std::string& conn_key, partition_set& woken) {
    if (policy_.grace.count() == 0) return take_offline(account_id, conn_key, false, woken);
    return with_retry([&] {
        pqxx::work tx(*conn_);
        if (tx.exec_prepared(sql::k_go_away, account_id, conn_key).empty()) return false;
        std::vector<int> touched;
        for (const auto& r : tx.exec_prepared(sql::k_announce_presence, account_id, db::sql_value(db::inbox_kind::partner_away)))
            touched.push_back(partition_of(r[0].as<std::int64_t>()));
        tx.commit();
        woken.insert(touched.begin(), touched.end());
        return true;
    });
}

int store::expire_away(partition_set& woken) {
    const auto grace_ms = static_cast<long long>(policy_.grace.count());
    std::vector<std::int64_t> expired;
    {
        pqxx::nontransaction tx(*conn_);
        for (const auto& r : tx.exec_prepared(sql::k_expired_away, grace_ms)) expired.push_back(r[0].as<std::int64_t>());
    }
    int ended = 0;
    for (const auto id : expired) {
        ended += with_retry([&] {
            pqxx::work tx(*conn_);
            if (tx.exec_prepared(sql::k_end_away, id, grace_ms).empty()) return 0;
            tx.exec_prepared(sql::k_stop_waiting, id);  // waiting ends with the grace too
            std::vector<int> touched;
            for (const auto& r : tx.exec_prepared(sql::k_end_sessions, id))
                touched.push_back(partition_of(r[0].as<std::int64_t>()));
            tx.commit();
            woken.insert(touched.begin(), touched.end());
            return 1;
        });
    }
    return ended;
}

int store::broker_hello(const std::string& broker_id, const std::string& epoch, partition_set& woken) {
    std::vector<std::pair<std::int64_t, std::string>> ghosts;
    {
        pqxx::work tx(*conn_);
        tx.exec_prepared(sql::k_touch_broker, broker_id, epoch);
        for (const auto& row : tx.exec_prepared(sql::k_ghosts_of_broker, broker_id, epoch))
            ghosts.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::string>());
        tx.commit();
    }
    int taken = 0;
    for (const auto& [id, conn_key] : ghosts) taken += connection_lost(id, conn_key, woken);
    return taken;
}

void store::broker_heartbeat(const std::string& broker_id, const std::string& epoch) {
    pqxx::work tx(*conn_);
    tx.exec_prepared(sql::k_touch_broker, broker_id, epoch);
    tx.commit();
}

int store::reap_dead_brokers(std::chrono::milliseconds timeout, partition_set& woken,
                             std::vector<std::string>& reaped) {
    const auto timeout_ms = static_cast<long long>(timeout.count());
    std::vector<std::string> dead;
    {
        pqxx::nontransaction tx(*conn_);
        for (const auto& row : tx.exec_prepared(sql::k_dead_brokers, timeout_ms))
            dead.push_back(row[0].as<std::string>());
    }
    int taken = 0;
    for (const auto& broker_id : dead) {
        std::vector<std::pair<std::int64_t, std::string>> accounts;
        {
            pqxx::nontransaction tx(*conn_);
            for (const auto& row : tx.exec_prepared(sql::k_accounts_on_broker, broker_id))
                accounts.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::string>());
        }
        int here = 0;
        for (const auto& [id, conn_key] : accounts) here += connection_lost(id, conn_key, woken);
        if (here > 0) reaped.push_back(broker_id);
        taken += here;
        pqxx::work tx(*conn_);
        tx.exec_prepared(sql::k_forget_broker, broker_id, timeout_ms);
        tx.commit();
    }
    return taken;
}

}  // namespace chat::logic
