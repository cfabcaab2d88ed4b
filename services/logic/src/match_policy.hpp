#pragma once

#include <chrono>

namespace chat::logic {

/// The pairing rules and moderation thresholds (logic's `matching:` and `moderation:`
/// config): the one place their defaults live. The rules themselves are enforced in
/// PostgreSQL (migrations/0006_stranger_chat.sql), which every logic process shares.
struct match_policy {
    std::chrono::milliseconds interest_wait{10'000};     // then someone with interests takes anyone
    std::chrono::milliseconds repeat_window{600'000};    // no repeat partner within this
    int max_conversations = 5;                            // open conversations per person
    // How soon logic's sweep tries a waiter again when nothing suitable was online (the
    // repeat window or a block may have run out for someone meanwhile).
    std::chrono::milliseconds retry_after{2'000};

    int report_threshold = 3;                              // reports from different accounts...
    std::chrono::milliseconds report_window{24LL * 3600 * 1000};  // ...within this...
    std::chrono::milliseconds ban_duration{24LL * 3600 * 1000};   // ...ban for this long
};

}  // namespace chat::logic
