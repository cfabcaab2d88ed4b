#include "services/broker/src/ack_coalescer.hpp"

#include <algorithm>

namespace chat::broker {

bool ack_coalescer::add(std::int64_t session_id, std::int64_t msg_id) {
    auto& position = pending_[session_id];
    position = std::max(position, msg_id);
    return !in_flight_;
}

const ack_coalescer::positions* ack_coalescer::begin_flush() {
    if (in_flight_ || pending_.empty()) return nullptr;
    sent_ = std::move(pending_);
    pending_.clear();
    in_flight_ = true;
    return &sent_;
}

bool ack_coalescer::on_reply(const proto::Reply* reply) {
    in_flight_ = false;
    rejected_.clear();
    if (!reply) {
        // Not stored: keep the positions; the client's next ACK sends them again.
        for (const auto& [session, msg] : sent_) pending_[session] = std::max(pending_[session], msg);
        return false;
    }
    if (reply->code() != 0) {
        for (const auto& [session, msg] : sent_) rejected_.push_back({session, msg, reply->code(), reply->msg()});
    } else {
        for (const auto& r : reply->ack().rejected()) rejected_.push_back({r.session_id(), r.msg_id(), r.code(), r.msg()});
    }
    return true;
}

}  // namespace chat::broker
