#pragma once

#include <cstddef>

namespace chat::wire {

/// Field limits shared by the broker (first check) and logic (second check).
inline constexpr std::size_t k_max_nickname_chars = 32;
inline constexpr std::size_t k_max_content_bytes = 4096;
inline constexpr std::size_t k_max_request_id_bytes = 64;
inline constexpr std::size_t k_token_hex_chars = 64;

}  // namespace chat::wire
