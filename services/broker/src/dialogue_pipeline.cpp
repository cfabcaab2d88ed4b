#include "services/broker/src/dialogue_pipeline.hpp"

#include <algorithm>
#include <iterator>

#include "shared/wire/codes.hpp"

namespace chat::broker {

using wire::code;

dialogue_next dialogue_pipeline::add(queued_dialogue item) {
    queue_.push_back(std::move(item));
    return in_flight_.empty() ? start_batch() : dialogue_next::wait;
}

dialogue_next dialogue_pipeline::start_batch() {
    if (queue_.empty()) return dialogue_next::wait;
    const auto take = std::min(queue_.size(), k_max_batch);
    in_flight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + take));
    queue_.erase(queue_.begin(), queue_.begin() + take);
    attempt_ = 1;
    return dialogue_next::send;
}

dialogue_next dialogue_pipeline::retry() {
    ++attempt_;
    return dialogue_next::send;
}

dialogue_next dialogue_pipeline::on_reply(const proto::Reply* reply, std::string_view failure) {
    answers_.clear();
    bool transient = !reply || reply->code() == wire::to_int(code::internal_error);
    if (reply && reply->code() == 0)
        for (const auto& r : reply->dialogue().results()) transient |= r.code() == wire::to_int(code::internal_error);
    // The same batch again (stored items answer with their msgId): a later batch must not
    // be stored before this one, or send order breaks.
    if (transient && attempt_ < k_attempts) return dialogue_next::retry_later;

    answers_.reserve(in_flight_.size() + (transient ? queue_.size() : 0));
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
        auto& item = in_flight_[i];
        auto& answer = answers_.emplace_back(dialogue_answer{std::move(item.request_id_echo), item.session_id, {}, item.received});
        auto& result = answer.result;
        if (!reply) {
            result.set_code(wire::to_int(code::internal_error));
            result.set_msg(std::string(failure));
        } else if (reply->code() != 0 || static_cast<int>(i) >= reply->dialogue().results_size()) {
            result.set_code(reply->code() != 0 ? reply->code() : wire::to_int(code::internal_error));
            result.set_msg(reply->code() != 0 ? reply->msg() : "incomplete reply from the chat service");
        } else {
            result = reply->dialogue().results(static_cast<int>(i));
        }
    }
    in_flight_.clear();
    attempt_ = 0;
    if (transient) {
        // Given up: what waited behind the batch fails too, so the client resends
        // everything in its original order.
        for (auto& item : queue_) {
            auto& answer = answers_.emplace_back(dialogue_answer{std::move(item.request_id_echo), item.session_id, {}, item.received});
            answer.result.set_code(wire::to_int(code::internal_error));
            answer.result.set_msg("an earlier message could not be stored; resend in order");
        }
        queue_.clear();
    }
    return start_batch();
}

}  // namespace chat::broker
