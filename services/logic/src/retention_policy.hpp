#pragma once

#include <chrono>

namespace chat::logic {

/// What logic deletes and how (logic's `retention:` config; docs/operations.md,
/// "Retention"): the one place these defaults live. A window of 0 keeps that kind forever.
struct retention_policy {
    bool enabled = true;
    std::chrono::milliseconds messages{7LL * 24 * 3600 * 1000};   // conversations ended this long ago, with their messages
    std::chrono::milliseconds accounts{30LL * 24 * 3600 * 1000};  // accounts offline this long with nothing left
    std::chrono::milliseconds reports{90LL * 24 * 3600 * 1000};   // reports made, bans ended, this long ago
    std::chrono::milliseconds interval{60'000};                    // one purge round this often
    int batch = 1000;                                              // rows per transaction, about
    std::chrono::milliseconds pause{50};                           // between two batches of a round
};

}  // namespace chat::logic
