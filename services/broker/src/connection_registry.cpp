#include "services/broker/src/connection_registry.hpp"

namespace chat::broker {

void account_index::set(std::int64_t account_id, const std::weak_ptr<ws_connection>& connection) {
    std::lock_guard lock(mutex_);
    map_[account_id] = connection;
}

void account_index::erase(std::int64_t account_id, const ws_connection* connection) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(account_id);
    if (it == map_.end()) return;
    auto current = it->second.lock();
    if (!current || current.get() == connection) map_.erase(it);
}

std::shared_ptr<ws_connection> account_index::find(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(account_id);
    return it == map_.end() ? nullptr : it->second.lock();
}

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

}  // namespace chat::broker
