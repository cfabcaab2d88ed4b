#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "services/logic/src/match_policy.hpp"
#include "services/logic/src/presence_policy.hpp"
#include "services/logic/src/side_effects.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/wire/codes.hpp"

namespace chat::logic {

/// One DIALOGUE of a batch, already checked to come from its sender's connection.
struct dialogue_item {
    std::int64_t session_id;
    std::int64_t sender_id;
    std::string request_id;
    std::string content;
};

struct dialogue_outcome {
    wire::code code = wire::code::ok;
    std::string msg;
    std::int64_t msg_id = 0;
};

/// One MATCH: who asks, with which interests (trimmed; logic lowers and dedupes them).
struct match_request {
    std::int64_t account_id = 0;
    std::vector<std::string> interests;
};

/// 0 paired, 13 waiting, 14 banned (until `banned_until`, ISO-8601 UTC), 15 at the cap,
/// 6 offline.
struct match_outcome {
    wire::code code = wire::code::ok;
    std::string msg;
    std::int64_t session_id = 0;
    std::int64_t partner_id = 0;
    std::string partner_name;
    std::vector<std::string> common_interests;
    std::string banned_until;
};

struct open_session_info {
    std::int64_t session_id;
    std::int64_t partner_id;
    std::string partner_name;
    std::vector<std::string> common_interests;
};

/// A REPORT's content; BLOCK has none.
struct report_details {
    std::string reason;
    std::string text;
};

/// What an account missed, to push again (messages in msgId order per session, then the
/// partner's read position and, for sessions that ended, PartnerExit).
struct resume_page {
    std::vector<proto::Delivery> deliveries;
    bool more = false;  // cut at the page size: ask again with `from`
};

/// One ACK request: (session, msgId) pairs of one account.
struct account_acks {
    std::int64_t account_id = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> acks;
};

/// A refused ACK.
struct ack_rejection {
    std::int64_t session_id;
    std::int64_t msg_id;
    wire::code code;
    std::string msg;
};

struct reconnect_outcome {
    wire::code code = wire::code::ok;
    std::string msg;
    std::string nickname;
    std::vector<open_session_info> sessions;
    bool waiting = false;  // still in the waiting pool
    resume_page resume;
    // The connection this one replaced, to be closed by its broker.
    std::optional<std::string> replaced_broker;
    std::string replaced_conn_key;
};

/// Where a connection lives: its broker and its unique key, and whom it is from.
struct connection_ref {
    std::string broker_id;
    std::string conn_key;
    std::string client_address{};  // empty: unknown (tests, benchmarks)
};

/// All of logic's database work over one connection: each method is one transaction
/// (retried on deadlock or serialization failure) and reports the inbox partitions it
/// wrote so the caller can wake the dispatcher after the commit. Conversations (accounts,
/// DIALOGUE, acks) are in store.cpp, presence (connections, away, brokers) in
/// store_presence.cpp, pairing and moderation (MATCH, the waiting pool, LEAVE, BLOCK,
/// REPORT) in store_matching.cpp.
class store {
public:
    explicit store(std::unique_ptr<pqxx::connection> conn, presence_policy presence = {}, match_policy matching = {});

    /// Number of inbox partitions (chat_inbox_partitions() in the schema).
    int inbox_partitions() const { return partitions_; }

    /// A new account, online on `where` (a waiter who takes anyone may have it at once).
    std::int64_t create_account(const std::string& nickname, const std::string& token_hash,
                                const connection_ref& where, partition_set& woken);
    /// The same, for callers that wake nobody (tests, benchmarks' set-up).
    std::int64_t create_account(const std::string& nickname, const std::string& token_hash,
                                const connection_ref& where) {
        partition_set ignored;
        return create_account(nickname, token_hash, where, ignored);
    }

    match_outcome match(const match_request& request, partition_set& woken);
    /// Several MATCHes in one statement and transaction (chat_match_many: one round trip,
    /// one commit); outcomes in the order of `requests`. An account may appear more than once (it gets two partners). Those
    /// who joined the pool are rechecked right after the commit (docs in chat_match).
    std::vector<match_outcome> match_many(const std::vector<match_request>& requests, partition_set& woken);

    /// Leaves the waiting pool: ok, or no_data when not waiting.
    wire::code cancel_match(std::int64_t account_id);

    /// Someone came online (logged in, came back): a waiter who takes anyone may have
    /// them, and if they were waiting themselves they look again. Returns true if paired.
    bool arrive(std::int64_t account_id, partition_set& woken);

    /// Tries waiters whose time came (their interest wait ran out, or their last try
    /// found nobody a while ago); returns how many were paired.
    int retry_waiters(partition_set& woken);
    /// How many people are in the waiting pool (chat_matching_waiting).
    long long waiting_count();

    /// LEAVE: ok, or session_closed when not in that open session.
    wire::code leave(std::int64_t session_id, std::int64_t account_id, partition_set& woken);

    /// BLOCK (no report) or REPORT the partner of a session the account is or was in.
    wire::code block(std::int64_t session_id, std::int64_t account_id, const std::optional<report_details>& report,
                     partition_set& woken);

    /// Stores a batch in one transaction; outcomes are in the order of `items`.
    std::vector<dialogue_outcome> store_dialogues(const std::vector<dialogue_item>& items, partition_set& woken);

    dialogue_outcome viewed_ack(std::int64_t session_id, std::int64_t account_id, std::int64_t msg_id,
                                partition_set& woken);

    /// Takes an account offline if `conn_key` is still its connection; ends its sessions.
    /// Returns false when the connection was no longer the account's.
    bool take_offline(std::int64_t account_id, const std::string& conn_key, bool revoke_token,
                      partition_set& woken);

    /// The account's connection dropped (not LOGOUT): away for the grace period, with
    /// PartnerAway to its partners, or offline at once when there is no grace.
    bool connection_lost(std::int64_t account_id, const std::string& conn_key, partition_set& woken);

    /// Ends the sessions of accounts away longer than the grace; returns how many.
    int expire_away(partition_set& woken);

    /// Binds the account to a new connection (token checked), tells partners it is back if
    /// it was away, and returns what it missed.
    reconnect_outcome reconnect(std::int64_t account_id, const std::string& token_hash, const connection_ref& where,
                                partition_set& woken);

    /// What an online account on `conn_key` has not acknowledged (its broker may have lost
    /// pushes). Refuses (not_logged_in) when the account is not on that connection.
    /// An account marked away while its connection lived on comes back on it.
    wire::code resume(std::int64_t account_id, const std::string& conn_key,
                      const std::vector<std::pair<std::int64_t, std::int64_t>>& from, resume_page& page,
                      partition_set& woken);

    /// Moves delivery positions forward; returns the refused acks.
    std::vector<ack_rejection> ack(std::int64_t account_id, const std::vector<std::pair<std::int64_t, std::int64_t>>& acks);
    /// Several accounts' acks in one transaction; the refused ones per entry, in order.
    std::vector<std::vector<ack_rejection>> ack_many(const std::vector<account_acks>& batches);

    /// Records a broker's (re)start and takes offline the accounts of its older epochs.
    int broker_hello(const std::string& broker_id, const std::string& epoch, partition_set& woken);
    void broker_heartbeat(const std::string& broker_id, const std::string& epoch);

    /// Makes away every account of a broker silent for `timeout`; returns how many, and
    /// adds to `reaped` the brokers that held any.
    int reap_dead_brokers(std::chrono::milliseconds timeout, partition_set& woken, std::vector<std::string>& reaped);

    pqxx::connection& connection() { return *conn_; }

private:
    int partition_of(std::int64_t session_id) const { return static_cast<int>(session_id % partitions_); }
    template <typename Work>
    auto with_retry(Work&& work);
    /// Runs chat_match (migrations/0006) in `tx`.
    match_outcome run_match(pqxx::transaction_base& tx, const char* mode, std::int64_t account_id,
                            const std::vector<std::string>& interests);
    match_outcome match_outcome_of(const pqxx::row& row) const;
    /// Inside a transaction: the missed deliveries since `window` (a timestamp).
    resume_page read_resume(pqxx::work& tx, std::int64_t account_id, const std::string& window,
                            const std::vector<std::pair<std::int64_t, std::int64_t>>& from);

    std::unique_ptr<pqxx::connection> conn_;
    presence_policy policy_;
    match_policy matching_;
    int partitions_ = 1;
    std::mt19937_64 rng_{std::random_device{}()};  // where MATCH starts looking
};

}  // namespace chat::logic
