#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat::broker {

class ws_connection;

/// The broker's live WebSocket connections, by connection number and by the account
/// each is bound to (or holds pushes for during a RECONNECT). Connections are held only
/// as weak_ptr, so the registry never keeps a closed connection alive. Thread-safe: the
/// cnats threads look targets up here, then post to the connection's strand.
class connection_registry {
public:
    void join(std::uint64_t conn_id, const std::weak_ptr<ws_connection>& connection);
    void leave(std::uint64_t conn_id);
    std::shared_ptr<ws_connection> find(std::uint64_t conn_id);
    std::vector<std::shared_ptr<ws_connection>> all();
    std::size_t size();

    /// The connection an account is bound to on this broker.
    void bind(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection);
    /// Only the connection the account is bound to may remove the binding: a replaced
    /// connection closing later must not unbind its successor.
    void unbind(std::int64_t account_id, const ws_connection* connection);
    std::shared_ptr<ws_connection> find_account(std::int64_t account_id);

    /// A connection whose RECONNECT to `account_id` is in flight: it holds the account's
    /// pushes until its resume is written, so none slips past it unseen.
    void hold(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection);
    void unhold(std::int64_t account_id, const ws_connection* connection);
    std::shared_ptr<ws_connection> find_holding(std::int64_t account_id);

private:
    using by_account = std::unordered_map<std::int64_t, std::weak_ptr<ws_connection>>;
    static void erase_if_owner(by_account& map, std::int64_t account_id, const ws_connection* connection);
    static std::shared_ptr<ws_connection> lookup(by_account& map, std::int64_t account_id);

    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<ws_connection>> connections_;
    by_account accounts_;
    by_account holding_;
};

}  // namespace chat::broker
