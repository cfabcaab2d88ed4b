#pragma once

#include <filesystem>
#include <string>

namespace chat::test {

/// The directory the build puts chat-broker, chat-logic, chat-dispatcher and chat in.
std::filesystem::path bin_dir();

/// The source tree: migrations/ and web/ are found from here, and children run in it.
std::filesystem::path source_dir();

/// bin_dir() / name; throws with a clear message when the binary has not been built.
std::filesystem::path binary(const std::string& name);

/// Finds a program such as nats-server on PATH (then in /usr/sbin, /usr/local/bin);
/// empty when it is nowhere.
std::filesystem::path find_program(const std::string& name);

}  // namespace chat::test
