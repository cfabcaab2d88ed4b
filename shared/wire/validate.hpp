#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace chat::wire {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);
/// The length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t valid_utf8_length(std::string_view s, std::size_t i);

/// Each check returns an error sentence for the client, or nothing when the value is fine.
std::optional<std::string> check_nickname(std::string_view nickname);
std::optional<std::string> check_content(std::string_view content);
std::optional<std::string> check_request_id(std::string_view request_id);
std::optional<std::string> check_token(std::string_view token);
std::optional<std::string> check_id(std::string_view field, long long id);

/// The nickname as stored: surrounding whitespace removed.
std::string normalize_nickname(std::string_view nickname);

/// One MATCH interest tag: like a nickname, 1..k_max_interest_chars characters.
std::optional<std::string> check_interest(std::string_view interest);
/// The tag as sent on: trimmed (logic compares and stores it in lower case).
std::string normalize_interest(std::string_view interest);

/// REPORT reasons, as the client sends them.
inline constexpr std::array<std::string_view, 6> k_report_reasons = {"spam", "harassment", "sexual",
                                                                     "hate", "underage", "other"};
bool is_report_reason(std::string_view reason);
/// REPORT's optional text: valid UTF-8, no U+0000, at most k_max_report_text_chars.
std::optional<std::string> check_report_text(std::string_view text);

}  // namespace chat::wire
