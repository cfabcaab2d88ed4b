#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chat::wire {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// Each check returns an error sentence for the client, or nothing when the value is fine.
std::optional<std::string> check_nickname(std::string_view nickname);
std::optional<std::string> check_content(std::string_view content);
std::optional<std::string> check_request_id(std::string_view request_id);
std::optional<std::string> check_token(std::string_view token);
std::optional<std::string> check_id(std::string_view field, long long id);

/// The nickname as stored: surrounding whitespace removed.
std::string normalize_nickname(std::string_view nickname);

}  // namespace chat::wire
