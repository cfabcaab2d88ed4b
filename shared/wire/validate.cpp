#include "shared/wire/validate.hpp"

#include <fmt/format.h>

#include "shared/wire/limits.hpp"

namespace chat::wire {
namespace {

// Decodes one code point starting at s[i]; returns its length or 0 when malformed.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i, char32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len;
    char32_t min;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::size_t valid_utf8_length(std::string_view s, std::size_t i) {
    char32_t cp;
    return i < s.size() ? utf8_sequence_length(s, i, cp) : 0;
}

bool is_valid_utf8(std::string_view s) {
    char32_t cp;
    for (std::size_t i = 0; i < s.size();) {
        const auto len = utf8_sequence_length(s, i, cp);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string normalize_nickname(std::string_view nickname) { return std::string(trim(nickname)); }

namespace {

// Valid UTF-8, something left after trimming, no control characters, at most
// `max_chars` code points once trimmed.
std::optional<std::string> check_label(std::string_view field, std::string_view text, std::size_t max_chars) {
    if (!is_valid_utf8(text)) return fmt::format("{} is not valid UTF-8", field);
    const auto trimmed = trim(text);
    if (trimmed.empty()) return fmt::format("{} must not be empty", field);
    std::size_t chars = 0;
    char32_t cp;
    for (std::size_t i = 0; i < trimmed.size(); ++chars) {
        i += utf8_sequence_length(trimmed, i, cp);
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            return fmt::format("{} must not contain control characters", field);
    }
    if (chars > max_chars) return fmt::format("{} is longer than {} characters", field, max_chars);
    return std::nullopt;
}

std::size_t count_code_points(std::string_view s) {
    std::size_t chars = 0;
    char32_t cp;
    for (std::size_t i = 0; i < s.size(); ++chars) i += utf8_sequence_length(s, i, cp);
    return chars;
}

}  // namespace

std::optional<std::string> check_nickname(std::string_view nickname) {
    return check_label("nickName", nickname, k_max_nickname_chars);
}

std::optional<std::string> check_interest(std::string_view interest) {
    return check_label("an interest", interest, k_max_interest_chars);
}

std::string normalize_interest(std::string_view interest) { return std::string(trim(interest)); }

bool is_report_reason(std::string_view reason) {
    for (auto known : k_report_reasons)
        if (reason == known) return true;
    return false;
}

std::optional<std::string> check_report_text(std::string_view text) {
    if (!is_valid_utf8(text)) return "text is not valid UTF-8";
    if (text.find('\0') != std::string_view::npos) return "text must not contain U+0000";
    if (count_code_points(text) > k_max_report_text_chars)
        return fmt::format("text is longer than {} characters", k_max_report_text_chars);
    return std::nullopt;
}

std::optional<std::string> check_content(std::string_view content) {
    if (content.size() > k_max_content_bytes)
        return fmt::format("content is longer than {} bytes", k_max_content_bytes);
    if (!is_valid_utf8(content)) return "content is not valid UTF-8";
    // PostgreSQL text cannot hold U+0000; refusing it here keeps one bad message from
    // failing a whole group-committed batch.
    if (content.find('\0') != std::string_view::npos) return "content must not contain U+0000";
    if (trim(content).empty()) return "content must not be empty";
    return std::nullopt;
}

std::optional<std::string> check_request_id(std::string_view request_id) {
    if (request_id.empty()) return "requestId must not be empty";
    if (request_id.size() > k_max_request_id_bytes)
        return fmt::format("requestId is longer than {} bytes", k_max_request_id_bytes);
    for (char c : request_id)
        if (c < 0x21 || c > 0x7E) return "requestId must be printable ASCII without spaces";
    return std::nullopt;
}

std::optional<std::string> check_token(std::string_view token) {
    if (token.size() != k_token_hex_chars)
        return fmt::format("token must be {} hex characters", k_token_hex_chars);
    for (char c : token)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return "token must be lowercase hex";
    return std::nullopt;
}

std::optional<std::string> check_id(std::string_view field, long long id) {
    if (id <= 0) return fmt::format("{} must be a positive integer", field);
    return std::nullopt;
}

}  // namespace chat::wire
