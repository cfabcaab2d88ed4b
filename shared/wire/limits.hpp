#pragma once

#include <cstddef>

namespace chat::wire {

/// Field limits shared by the broker (first check) and logic (second check).
inline constexpr std::size_t k_max_nickname_chars = 32;
inline constexpr std::size_t k_max_content_bytes = 4096;
inline constexpr std::size_t k_max_request_id_bytes = 64;
inline constexpr std::size_t k_token_hex_chars = 64;
/// MATCH interests: at most this many tags, each 1..k_max_interest_chars characters.
inline constexpr std::size_t k_max_interests = 5;
inline constexpr std::size_t k_max_interest_chars = 24;
/// REPORT text, in characters (code points).
inline constexpr std::size_t k_max_report_text_chars = 500;
/// The largest frame the broker reads at all (limits.max_frame_bytes may be set up to
/// it); a bigger one is a protocol violation that closes the connection (1009).
inline constexpr std::size_t k_hard_frame_cap_bytes = 16 * 1024 * 1024;

}  // namespace chat::wire
