#pragma once

#include <string_view>

namespace chat::wire {

/// Response codes of the client protocol (docs/protocol.md). 0 is success; every other
/// code travels with a human-readable `msg`.
enum class code : int {
    ok = 0,
    param_error = 1,
    internal_error = 2,
    unknown_error = 3,
    no_data = 4,
    forbidden = 5,
    not_logged_in = 6,
    unknown_cmd = 7,
    session_closed = 8,
    bad_token = 9,
    already_logged_in = 10,
    frame_too_large = 11,
    rate_limited = 12,
    waiting = 13,                 // MATCH: nobody suitable now; you wait in the pool
    banned = 14,                  // MATCH: banned from matching until `until`
    too_many_conversations = 15,  // MATCH: at matching.max_conversations already
};

constexpr int to_int(code c) { return static_cast<int>(c); }

/// Short name used in logs and docs.
std::string_view code_name(code c);

}  // namespace chat::wire
