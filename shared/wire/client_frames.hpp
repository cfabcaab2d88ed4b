#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shared/wire/codes.hpp"

namespace chat::wire {

/// The client's requests after parsing and field validation (docs/protocol.md).
struct create_account_request {
    std::string nickname;  // trimmed
};
struct match_request {
    std::int64_t account_id;
    std::vector<std::string> interests;  // trimmed tags, at most k_max_interests
};
struct cancel_match_request {
    std::int64_t account_id;
};
/// LEAVE, BLOCK and TYPING act for the connection's own account.
struct leave_request {
    std::int64_t session_id;
};
struct block_request {
    std::int64_t session_id;
};
struct report_request {
    std::int64_t session_id;
    std::string reason;  // one of k_report_reasons
    std::string text;    // may be empty
};
/// Not answered unless refused.
struct typing_request {
    std::int64_t session_id;
    bool typing;
};
struct dialogue_request {
    nlohmann::json request_id_echo;  // as the client sent it: string or integer
    std::string request_id;          // the same as text, the idempotency key
    std::int64_t sender_id;
    std::int64_t session_id;
    std::string content;
};
struct viewed_ack_request {
    std::int64_t session_id;
    std::int64_t account_id;
    std::int64_t msg_id;
};
struct logout_request {
    std::int64_t account_id;
};
struct reconnect_request {
    std::int64_t account_id;
    std::string token;
};
/// Cumulative delivery acknowledgement (not answered unless refused).
struct ack_request {
    std::int64_t session_id;
    std::int64_t msg_id;
};
struct ping_request {};
struct pong_request {};

using client_request = std::variant<create_account_request, match_request, dialogue_request,
                                    viewed_ack_request, logout_request, reconnect_request,
                                    ack_request, ping_request, pong_request, cancel_match_request,
                                    leave_request, block_request, report_request, typing_request>;

/// Why a frame was refused, and what to echo in the error response.
struct frame_error {
    std::string cmd;                 // the request's cmd, or "ERROR" when it has none
    code error_code;
    std::string msg;
    nlohmann::json request_id_echo;  // DIALOGUE only, when it had a usable requestId
};

using parse_result = std::variant<client_request, frame_error>;

/// Parses one text frame. Never throws: anything wrong becomes a frame_error.
parse_result parse_client_frame(std::string_view text);

/// The `cmd` string of a request type.
std::string_view command_name(const client_request& request);

}  // namespace chat::wire
