#include "shared/wire/codes.hpp"

namespace chat::wire {

std::string_view code_name(code c) {
    switch (c) {
        case code::ok: return "OK";
        case code::param_error: return "PARAM_ERROR";
        case code::internal_error: return "INTERNAL_ERROR";
        case code::unknown_error: return "UNKNOWN_ERROR";
        case code::no_data: return "NO_DATA";
        case code::forbidden: return "FORBIDDEN";
        case code::not_logged_in: return "NOT_LOGGED_IN";
        case code::unknown_cmd: return "UNKNOWN_CMD";
        case code::session_closed: return "SESSION_CLOSED";
        case code::bad_token: return "BAD_TOKEN";
        case code::already_logged_in: return "ALREADY_LOGGED_IN";
        case code::frame_too_large: return "FRAME_TOO_LARGE";
        case code::rate_limited: return "RATE_LIMITED";
        case code::waiting: return "WAITING";
        case code::banned: return "BANNED";
        case code::too_many_conversations: return "TOO_MANY_CONVERSATIONS";
    }
    return "UNKNOWN";
}

}  // namespace chat::wire
