#include "bench/ceiling/workload.hpp"

#include <chrono>
#include <string>

namespace chat::bench::ceiling {

request_source::request_source(const population& people, std::size_t payload, int items_per_request)
    : people_(people),
      payload_(payload),
      items_per_request_(items_per_request),
      sent_(people.sessions.size(), 0),
      seq_(people.accounts.size(), 0) {}

proto::Request request_source::next(int items) {
    const std::size_t s = next_session_;
    next_session_ = (next_session_ + 1) % people_.sessions.size();
    const auto& sess = people_.sessions[s];
    const std::size_t sender = sent_[s]++ % 2 == 0 ? sess.first : sess.second;
    const auto& who = people_.accounts[sender];

    proto::Request request;
    auto* origin = request.mutable_origin();
    origin->set_broker_id(people_.broker_id);
    origin->set_conn_key(who.conn_key);
    origin->set_account_id(who.id);
    for (int i = 0; i < items; ++i) {
        const auto seq = ++seq_[sender];
        std::string content =
            "t=" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
            ";c=" + std::to_string(sender) + ";s=" + std::to_string(seq) + ";";
        if (content.size() < payload_) content.append(payload_ - content.size(), 'x');
        auto* d = request.mutable_dialogue()->add_items();
        d->set_request_id(std::to_string(seq));
        d->set_sender_id(who.id);
        d->set_session_id(sess.id);
        d->set_content(std::move(content));
    }
    return request;
}

}  // namespace chat::bench::ceiling
