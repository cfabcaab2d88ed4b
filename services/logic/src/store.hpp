#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "shared/wire/codes.hpp"

namespace chat::logic {

/// Inbox partitions a transaction wrote to; the dispatcher is woken for exactly these.
using partition_set = std::set<int>;

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

struct match_outcome {
    wire::code code = wire::code::ok;
    std::string msg;
    std::int64_t session_id = 0;
    std::int64_t partner_id = 0;
    std::string partner_name;
};

struct open_session_info {
    std::int64_t session_id;
    std::int64_t partner_id;
    std::string partner_name;
};

struct reconnect_outcome {
    wire::code code = wire::code::ok;
    std::string msg;
    std::string nickname;
    std::vector<open_session_info> sessions;
    // The connection this one replaced, to be closed by its broker.
    std::optional<std::string> replaced_broker;
    std::string replaced_conn_key;
};

/// Where a connection lives: its broker and its unique key.
struct connection_ref {
    std::string broker_id;
    std::string conn_key;
};

/// All of logic's database work over one connection: each method is one transaction
/// (retried on deadlock or serialization failure) and reports the inbox partitions it
/// wrote so the caller can wake the dispatcher after the commit.
class store {
public:
    explicit store(std::unique_ptr<pqxx::connection> conn);

    /// Number of inbox partitions (chat_inbox_partitions() in the schema).
    int inbox_partitions() const { return partitions_; }

    std::int64_t create_account(const std::string& nickname, const std::string& token_hash,
                                const connection_ref& where);

    match_outcome match(std::int64_t account_id, partition_set& woken);

    /// Stores a batch in one transaction; outcomes are in the order of `items`.
    std::vector<dialogue_outcome> store_dialogues(const std::vector<dialogue_item>& items, partition_set& woken);

    dialogue_outcome viewed_ack(std::int64_t session_id, std::int64_t account_id, std::int64_t msg_id,
                                partition_set& woken);

    /// Takes an account offline if `conn_key` is still its connection; ends its sessions.
    /// Returns false when the connection was no longer the account's.
    bool take_offline(std::int64_t account_id, const std::string& conn_key, bool revoke_token,
                      partition_set& woken);

    reconnect_outcome reconnect(std::int64_t account_id, const std::string& token_hash, const connection_ref& where);

    /// Records a broker's (re)start and takes offline the accounts of its older epochs.
    int broker_hello(const std::string& broker_id, const std::string& epoch, partition_set& woken);
    void broker_heartbeat(const std::string& broker_id, const std::string& epoch);

    /// Takes offline every account of a broker silent for `timeout`; returns how many.
    int reap_dead_brokers(std::chrono::milliseconds timeout, partition_set& woken);

    pqxx::connection& connection() { return *conn_; }

private:
    int partition_of(std::int64_t session_id) const { return static_cast<int>(session_id % partitions_); }
    template <typename Work>
    auto with_retry(Work&& work);

    std::unique_ptr<pqxx::connection> conn_;
    int partitions_ = 1;
    std::mt19937_64 rng_{std::random_device{}()};  // where MATCH starts looking
};

}  // namespace chat::logic
