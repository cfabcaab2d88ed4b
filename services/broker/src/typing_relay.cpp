#include "services/broker/src/typing_relay.hpp"

namespace chat::broker {

session_change session_change_of(const proto::Delivery& delivery) {
    switch (delivery.kind()) {
        case proto::Delivery::NEW_SESSION:
            return {session_change::kind::opened, delivery.session_id(), delivery.peer_id()};
        case proto::Delivery::PARTNER_EXIT: return {session_change::kind::ended, delivery.session_id(), 0};
        default: return {};
    }
}

void typing_relay::reset(const google::protobuf::RepeatedPtrField<proto::OpenSession>& sessions) {
    sessions_.clear();
    for (const auto& s : sessions) open(s.session_id(), s.partner_id());
}

void typing_relay::clear() {
    sessions_.clear();
    deferred_.clear();
}

void typing_relay::open(std::int64_t session_id, std::int64_t partner_id) {
    auto& s = sessions_[session_id];
    // Told again about a session it knows (a resume, a RECONNECT's list): keep its throttle.
    if (s.partner_id != partner_id) s = session{partner_id};
}

void typing_relay::apply(const session_change& change) {
    switch (change.what) {
        case session_change::kind::opened: return open(change.session_id, change.partner_id);
        case session_change::kind::ended: return end(change.session_id);
        case session_change::kind::none: return;
    }
}

void typing_relay::defer(const session_change& change) {
    if (change.what != session_change::kind::none) deferred_.push_back(change);
}

void typing_relay::apply_deferred() {
    for (const auto& change : deferred_) apply(change);
    deferred_.clear();
}

std::optional<std::int64_t> typing_relay::partner(std::int64_t session_id) const {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second.partner_id;
}

typing_decision typing_relay::outgoing(std::int64_t session_id, bool typing, clock::time_point now) {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return {typing_verdict::not_in_session};
    auto& s = it->second;
    if (s.count > 0) {
        const auto last = s.relays[(s.next + k_max_per_window - 1) % k_max_per_window];
        if (s.last_state == typing && now - last < k_repeat_window) return {typing_verdict::repeat};
        // Full: the oldest of the last k_max_per_window relays must have left the window.
        if (s.count == k_max_per_window && now - s.relays[s.next] < k_window) return {typing_verdict::too_fast};
    }
    s.relays[s.next] = now;
    s.next = (s.next + 1) % k_max_per_window;
    if (s.count < k_max_per_window) ++s.count;
    s.last_state = typing;
    return {typing_verdict::relay, s.partner_id};
}

bool typing_relay::from_partner(std::int64_t session_id, std::int64_t sender_id) const {
    const auto partner_id = partner(session_id);
    return partner_id && *partner_id == sender_id;
}

}  // namespace chat::broker
