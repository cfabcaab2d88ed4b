#include "services/broker/src/connection_registry.hpp"

namespace chat::broker {

void connection_registry::join(std::uint64_t conn_id, const std::weak_ptr<ws_connection>& connection) {
    std::lock_guard lock(mutex_);
    connections_[conn_id] = connection;
}

void connection_registry::leave(std::uint64_t conn_id) {
    std::lock_guard lock(mutex_);
    connections_.erase(conn_id);
}

std::shared_ptr<ws_connection> connection_registry::find(std::uint64_t conn_id) {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(conn_id);
    return it == connections_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<ws_connection>> connection_registry::all() {
    std::vector<std::shared_ptr<ws_connection>> out;
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : connections_)
        if (auto c = weak.lock()) out.push_back(std::move(c));
    return out;
}

std::size_t connection_registry::size() {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

void connection_registry::erase_if_owner(by_account& map, std::int64_t account_id, const ws_connection* connection) {
    auto it = map.find(account_id);
    if (it == map.end()) return;
    auto current = it->second.lock();
    if (!current || current.get() == connection) map.erase(it);
}

std::shared_ptr<ws_connection> connection_registry::lookup(by_account& map, std::int64_t account_id) {
    auto it = map.find(account_id);
    return it == map.end() ? nullptr : it->second.lock();
}

void connection_registry::bind(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection) {
    std::lock_guard lock(mutex_);
    accounts_[account_id] = connection;
}

void connection_registry::unbind(std::int64_t account_id, const ws_connection* connection) {
    std::lock_guard lock(mutex_);
    erase_if_owner(accounts_, account_id, connection);
}

std::shared_ptr<ws_connection> connection_registry::find_account(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    return lookup(accounts_, account_id);
}

void connection_registry::hold(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection) {
    std::lock_guard lock(mutex_);
    holding_[account_id] = connection;
}

void connection_registry::unhold(std::int64_t account_id, const ws_connection* connection) {
    std::lock_guard lock(mutex_);
    erase_if_owner(holding_, account_id, connection);
}

std::shared_ptr<ws_connection> connection_registry::find_holding(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    return lookup(holding_, account_id);
}

}  // namespace chat::broker
