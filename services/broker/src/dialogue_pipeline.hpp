#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "shared/proto/chat.pb.h"
#include "shared/util/backoff.hpp"

namespace chat::broker {

/// One DIALOGUE from the client, as it goes to logic, and what its answer echoes.
struct queued_dialogue {
    nlohmann::json request_id_echo;
    std::int64_t session_id;
    proto::Dialogue dialogue;
    std::chrono::steady_clock::time_point received{};  // for chat_request_duration_seconds
};

/// The answer to one DIALOGUE: the caller writes it as a DIALOGUE frame.
struct dialogue_answer {
    nlohmann::json request_id_echo;
    std::int64_t session_id;
    proto::DialogueResult result;
    std::chrono::steady_clock::time_point received{};  // the DIALOGUE's frame
};

/// What the caller does after an event of the pipeline.
enum class dialogue_next {
    wait,         // nothing to send now
    send,         // send in_flight() to logic
    retry_later,  // wait retry_delay(), then call retry()
};

/// A connection's DIALOGUE send order, as a policy with no I/O: at most one batch is at
/// logic; what arrives meanwhile waits and goes as the next batch (at most 64), so msgIds
/// follow the order the client sent. A transient failure (code 2 or no reply) sends the
/// same batch again; after the last try its messages fail, and so does everything queued
/// behind it, so the client resends all of them in their original order.
class dialogue_pipeline {
public:
    static constexpr std::size_t k_max_batch = 64;
    static constexpr int k_attempts = 4;  // tries of one batch before it fails with code 2
    static constexpr util::backoff k_retry_backoff{std::chrono::milliseconds(250), std::chrono::milliseconds(1000)};

    /// A DIALOGUE from the client: `send` when it starts a batch, `wait` when one is out.
    dialogue_next add(queued_dialogue item);

    /// The reply to the batch in flight; `reply` is null when none came (`failure` says
    /// why). Fills answers() with what to write to the client, in order.
    dialogue_next on_reply(const proto::Reply* reply, std::string_view failure);

    /// The retry timer fired: send in_flight() again.
    dialogue_next retry();

    /// The batch at logic (valid while in_flight_count() > 0).
    const std::vector<queued_dialogue>& in_flight() const { return in_flight_; }
    std::size_t in_flight_count() const { return in_flight_.size(); }
    std::size_t queued() const { return queue_.size(); }
    /// The try of in_flight() under way, from 1.
    int attempt() const { return attempt_; }
    std::chrono::milliseconds retry_delay() const { return k_retry_backoff.delay(attempt_ - 1); }
    /// The answers of the last on_reply(), to write before acting on its result.
    const std::vector<dialogue_answer>& answers() const { return answers_; }

private:
    dialogue_next start_batch();

    std::vector<queued_dialogue> queue_;
    std::vector<queued_dialogue> in_flight_;
    std::vector<dialogue_answer> answers_;
    int attempt_ = 0;
};

}  // namespace chat::broker
