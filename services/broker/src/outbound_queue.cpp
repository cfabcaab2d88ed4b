#include "services/broker/src/outbound_queue.hpp"

#include <algorithm>

namespace chat::broker {

std::size_t outbound_queue::hard_cap() const { return std::max(limit_ * k_hard_cap_factor, k_min_hard_cap); }

outbound_queue::push_result outbound_queue::push(frame f, clock::time_point now) {
    if (frames_.size() >= limit_ && (now - write_started_ > k_stall || frames_.size() >= hard_cap()))
        return push_result::too_slow;
    frames_.push_back(std::move(f));
    return frames_.size() == 1 ? push_result::write_now : push_result::queued;
}

bool outbound_queue::pop_written() {
    frames_.pop_front();
    return !frames_.empty();
}

}  // namespace chat::broker
