#include "services/broker/src/message_limits.hpp"

#include <string>
#include <variant>

namespace chat::broker {

message_limits::message_limits(double per_second, util::keyed_rate_limiter* per_account, clock::time_point now)
    : account_(per_account) {
    if (per_second > 0) connection_.emplace(per_second, 2 * per_second, now);
}

bool message_limits::counted(const wire::client_request& request) {
    return !std::holds_alternative<wire::pong_request>(request) && !std::holds_alternative<wire::ack_request>(request) &&
           !std::holds_alternative<wire::typing_request>(request);
}

bool message_limits::allow(std::int64_t account_id, clock::time_point now) {
    if (connection_ && !connection_->try_take(now)) return false;
    return account_id == 0 || !account_ || account_->try_take(std::to_string(account_id), now);
}

}  // namespace chat::broker
