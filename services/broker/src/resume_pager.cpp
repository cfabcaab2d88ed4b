#include "services/broker/src/resume_pager.hpp"

#include <algorithm>

namespace chat::broker {

resume_next resume_pager::bus_lost(bool logged_in) {
    // A resume (or RECONNECT) under way may have read its page before the loss: once it
    // is done, run another from the start.
    if (active_) {
        again_ = true;
        return resume_next::none;
    }
    if (!logged_in) return resume_next::none;
    active_ = true;
    return resume_next::request_page;
}

resume_next resume_pager::on_page(const proto::ResumeReply& page, std::size_t queued) {
    failures_ = 0;
    for (const auto& d : page.deliveries()) {
        if (d.kind() != proto::Delivery::MESSAGE) continue;
        auto& up_to = up_to_[d.session_id()];
        up_to = std::max(up_to, d.msg_id());
    }
    if (!page.more()) {
        if (!again_) return resume_next::finish;
        again_ = false;
        up_to_.clear();  // the client drops what it already has
    }
    // Pace the pages by the client's reading: the next one once this one is mostly out.
    page_wanted_ = true;
    return on_written(queued);
}

resume_next resume_pager::on_written(std::size_t queued) {
    if (!page_wanted_ || queued >= k_low_water) return resume_next::none;
    page_wanted_ = false;
    return resume_next::request_page;
}

resume_next resume_pager::on_page_failed(bool refused) {
    // Refused (the connection is no longer the account's) or out of tries: the client
    // must come back with RECONNECT, which resumes from its acknowledgements.
    if (refused || ++failures_ >= k_attempts) return resume_next::close;
    return resume_next::retry_later;
}

hold_result resume_pager::hold(frame f) {
    if (!active_) return hold_result::write;
    if (held_.size() >= hold_limit_) return hold_result::over_limit;
    held_.push_back(std::move(f));
    return hold_result::held;
}

std::deque<resume_pager::frame> resume_pager::finish() {
    active_ = false;
    again_ = false;
    failures_ = 0;
    page_wanted_ = false;
    up_to_.clear();
    auto held = std::move(held_);
    held_.clear();
    return held;
}

}  // namespace chat::broker
