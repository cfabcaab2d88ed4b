#include "store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "shared/db/connect.hpp"
#include "shared/db/inbox_kind.hpp"
#include "sql.hpp"

namespace chat::logic {
namespace {

constexpr int k_max_attempts = 5;
// Messages per resume page: 100 of at most 4 KiB stay well below NATS's 1 MiB payload.
constexpr int k_resume_page_messages = 100;
// store_dialogues' outcomes (migrations/0003_one_round_trip.sql).
constexpr int k_dialogue_stored = 0, k_dialogue_resent = 1, k_dialogue_not_member = 2;

// Compares two token hashes without leaking, through timing, how many characters match.
bool same_hash(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

// An outcome that refuses: only its code and message are set.
template <typename Outcome>
Outcome refused(wire::code code, std::string msg) {
    Outcome out;
    out.code = code;
    out.msg = std::move(msg);
    return out;
}

// A connection key is "<broker epoch>/<connection number>".
std::string epoch_of(const std::string& conn_key) { return conn_key.substr(0, conn_key.find('/')); }

}  // namespace

store::store(std::unique_ptr<pqxx::connection> conn, presence_policy policy)
    : conn_(std::move(conn)), policy_(policy) {
    // Batch statements take arrays; without this PostgreSQL re-plans them on every call.
    pqxx::nontransaction(*conn_).exec("SET plan_cache_mode = force_generic_plan");
    sql::prepare_all(*conn_);
    pqxx::nontransaction tx(*conn_);
    partitions_ = tx.exec_prepared1(sql::k_inbox_partitions)[0].as<int>();
}

// Runs one transaction body again when PostgreSQL aborted it for a deadlock, a
// serialization failure, or a unique key a concurrent transaction took first.
template <typename Work>
auto store::with_retry(Work&& work) {
    for (int attempt = 1;; ++attempt) {
        try {
            return work();
        } catch (const pqxx::transaction_rollback&) {
            if (attempt >= k_max_attempts) throw;
        } catch (const pqxx::unique_violation&) {
            if (attempt >= k_max_attempts) throw;
        }
    }
}

std::int64_t store::create_account(const std::string& nickname, const std::string& token_hash,
                                   const connection_ref& where) {
    pqxx::work tx(*conn_);
    const auto id = tx.exec_prepared1(sql::k_create_account, nickname, token_hash, where.broker_id, where.conn_key,
                                      static_cast<long long>(policy_.token_ttl.count()))[0]
                        .as<std::int64_t>();
    tx.exec_prepared(sql::k_broker_seen, where.broker_id, epoch_of(where.conn_key));
    tx.commit();
    return id;
}

match_outcome store::match(std::int64_t account_id, partition_set& woken) {
    return match_many({account_id}, woken).front();
}

std::vector<match_outcome> store::match_many(const std::vector<std::int64_t>& account_ids, partition_set& woken) {
    return with_retry([&] {
        std::vector<match_outcome> out;
        pqxx::work tx(*conn_);
        for (const auto account_id : account_ids) out.push_back(match_in(tx, account_id));
        tx.commit();
        for (const auto& o : out)
            if (o.code == wire::code::ok) woken.insert(partition_of(o.session_id));
        return out;
    });
}

// Two accounts matched in one transaction see each other's new session, so the same
// pair is never opened twice; a concurrent transaction opening the same pair makes the
// insert wait for it and then return nothing (pick again).
match_outcome store::match_in(pqxx::work& tx, std::int64_t account_id) {
    if (tx.exec_prepared(sql::k_lock_online, account_id).empty())
        return refused<match_outcome>(wire::code::not_logged_in, "your account is offline; log in again");
    // A candidate can go offline or be matched by someone else between the pick and
    // the insert; then pick again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto point = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        const auto pick = tx.exec_prepared(sql::k_pick_partner, account_id, point);
        if (pick.empty()) break;
        const auto partner_id = pick[0][0].as<std::int64_t>();
        const auto partner = tx.exec_prepared(sql::k_lock_online, partner_id);
        if (partner.empty()) continue;
        const auto session = tx.exec_prepared(sql::k_open_session, account_id, partner_id);
        if (session.empty()) continue;
        match_outcome out;
        out.session_id = session[0][0].as<std::int64_t>();
        out.partner_id = partner_id;
        out.partner_name = partner[0][0].as<std::string>();
        return out;
    }
    return refused<match_outcome>(wire::code::no_data, "nobody is available to match right now");
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

bool store::take_offline(std::int64_t account_id, const std::string& conn_key, bool revoke_token,
                         partition_set& woken) {
    return with_retry([&] {
        pqxx::work tx(*conn_);
        if (tx.exec_prepared(sql::k_take_offline, account_id, conn_key, revoke_token).empty()) return false;
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
    return with_retry([&]() -> reconnect_outcome {
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
        tx.exec_prepared(sql::k_bind_account, account_id, where.broker_id, where.conn_key);
        tx.exec_prepared(sql::k_broker_seen, where.broker_id, epoch_of(where.conn_key));
        std::vector<int> touched;
        if (row[5].as<bool>())  // it was away: its partners learn it is back
            for (const auto& r : tx.exec_prepared(sql::k_announce_presence, account_id, db::sql_value(db::inbox_kind::partner_back)))
                touched.push_back(partition_of(r[0].as<std::int64_t>()));
        for (const auto& r : tx.exec_prepared(sql::k_open_sessions_of, account_id))
            out.sessions.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>()});
        out.resume = read_resume(tx, account_id, row[7].as<std::string>(), {});
        tx.commit();
        woken.insert(touched.begin(), touched.end());
        return out;
    });
}

wire::code store::resume(std::int64_t account_id, const std::string& conn_key,
                         const std::vector<std::pair<std::int64_t, std::int64_t>>& from, resume_page& page,
                         partition_set& woken) {
    return with_retry([&] {
        pqxx::work tx(*conn_);
        const auto state = tx.exec_prepared(sql::k_recent_window, account_id, conn_key);
        if (state.empty() || state[0][1].is_null() || !state[0][1].as<bool>()) return wire::code::not_logged_in;
        std::vector<int> touched;
        if (!state[0][2].as<bool>()) {
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
