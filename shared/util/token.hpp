#pragma once

#include <string>
#include <string_view>

namespace chat::util {

/// 32 bytes from the kernel's CSPRNG (getrandom), as 64 lowercase hex characters.
std::string random_token();

/// 16 random hex characters: a process epoch, a connection key prefix.
std::string random_hex(std::size_t bytes);

/// SHA-256 of `data` as 64 lowercase hex characters; tokens are stored only like this.
std::string sha256_hex(std::string_view data);

}  // namespace chat::util
