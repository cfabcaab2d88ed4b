#pragma once

#include <filesystem>

namespace chat::db {

/// Where `chat migrate` reads migrations when no --migrations is given: the installed
/// share/chat/migrations beside the binary's bin/ (/usr/bin/chat: /usr/share/chat/migrations,
/// also in a package unpacked elsewhere), else `migrations` of the current directory (a
/// binary of the build tree, run from the source tree). `executable` is the binary's path.
std::filesystem::path default_migrations_dir(const std::filesystem::path& executable);

/// This process's binary (/proc/self/exe); empty when it cannot be read.
std::filesystem::path own_executable();

}  // namespace chat::db
