#include "services/dispatcher/src/push_batcher.hpp"

namespace chat::dispatcher {

void push_batcher::add(const std::string& broker_id, proto::Delivery delivery) {
    auto& p = by_broker_[broker_id];
    const auto size = delivery.ByteSizeLong() + 8;  // + field tag and length prefix
    if (p.bytes > 0 && p.bytes + size > max_bytes_) {
        publish_(broker_id, p.push);
        p = pending{};
    }
    *p.push.add_deliveries() = std::move(delivery);
    p.bytes += size;
}

void push_batcher::flush() {
    for (auto& [broker_id, p] : by_broker_)
        if (p.bytes > 0) publish_(broker_id, p.push);
    by_broker_.clear();
}

}  // namespace chat::dispatcher
