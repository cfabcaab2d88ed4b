#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace chat::broker {

class ws_connection;

/// Account → connection, held as weak_ptr. Thread-safe.
class account_index {
public:
    void set(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection);
    /// Only the connection an account maps to may remove the entry: a replaced
    /// connection closing later must not remove its successor's.
    void erase(std::int64_t account_id, const ws_connection* connection);
    std::shared_ptr<ws_connection> find(std::int64_t account_id);

private:
    std::mutex mutex_;
    std::unordered_map<std::int64_t, std::weak_ptr<ws_connection>> map_;
};

/// The broker's live WebSocket connections: by connection number, by the account each
/// is bound to, and by the account whose pushes one holds while its RECONNECT is in
/// flight (so none slips past it unseen). Connections are held only as weak_ptr, so the
/// registry never keeps a closed connection alive. Thread-safe: the cnats threads look
/// targets up here, then post to the connection's strand.
class connection_registry {
public:
    void join(std::uint64_t conn_id, const std::weak_ptr<ws_connection>& connection);
    void leave(std::uint64_t conn_id);
    std::shared_ptr<ws_connection> find(std::uint64_t conn_id);
    std::vector<std::shared_ptr<ws_connection>> all();
    std::size_t size();

    /// The connection each account is bound to on this broker.
    account_index& bound() { return bound_; }
    /// The connection holding each account's pushes during its RECONNECT.
    account_index& holding() { return holding_; }

private:
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<ws_connection>> connections_;
    account_index bound_;
    account_index holding_;
};

}  // namespace chat::broker
