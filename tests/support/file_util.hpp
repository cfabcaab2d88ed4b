#pragma once

#include <filesystem>
#include <string>

namespace chat::test {

/// The whole file, or "" when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// The last `lines` lines of a file, for failure messages.
std::string tail_file(const std::filesystem::path& path, std::size_t lines = 40);

/// Writes (replaces) a file; throws when it cannot.
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace chat::test
