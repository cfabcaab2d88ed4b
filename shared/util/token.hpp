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

/// Whether `presented` is `secret`, in time that depends on neither: both are hashed
/// first and the digests compared with CRYPTO_memcmp, so neither the length nor the
/// first differing byte shows in how long it takes.
bool same_secret(std::string_view presented, std::string_view secret);

}  // namespace chat::util
