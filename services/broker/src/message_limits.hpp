#pragma once

#include <cstdint>
#include <optional>

#include "shared/util/rate_limiter.hpp"
#include "shared/wire/client_frames.hpp"

namespace chat::broker {

/// The rate limits a connection's commands count against: a token bucket of its own
/// (limits.messages_per_second, bursts of twice the rate) and its account's bucket,
/// shared by the account's connections on this broker. PONG and ACK only answer the
/// server and are never counted. Nor is TYPING: it has its own, tighter throttle per
/// conversation (typing_relay) and costs logic and PostgreSQL nothing, and counting it
/// would let typing use up the budget of the DIALOGUEs it comes with.
class message_limits {
public:
    using clock = util::token_bucket::clock;

    /// `per_second` 0: no per-connection limit; `per_account` null: no per-account limit.
    message_limits(double per_second, util::keyed_rate_limiter* per_account, clock::time_point now = clock::now());

    /// Whether a request counts against the limits at all.
    static bool counted(const wire::client_request& request);
    /// Takes one message from the limits (`account_id` 0: not logged in); false: over one.
    bool allow(std::int64_t account_id, clock::time_point now = clock::now());

private:
    std::optional<util::token_bucket> connection_;
    util::keyed_rate_limiter* account_;
};

}  // namespace chat::broker
