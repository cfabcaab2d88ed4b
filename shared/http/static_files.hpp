#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace chat::http {

/// Which file answers a GET, and how it may be cached.
struct static_file {
    std::filesystem::path path;
    std::string content_type;
    std::string cache_control;
};

/// Maps a request target to a file under `root`: "/" and paths without an extension
/// get `page` (the client routes itself); hashed files under /assets/ are cached for a
/// year, everything else must be revalidated. Refuses anything that leaves `root`.
std::optional<static_file> resolve_static(const std::filesystem::path& root, std::string_view target,
                                          std::string_view page = "index.html");

/// The Content-Type for a file name's extension.
std::string content_type_for(const std::filesystem::path& file);

}  // namespace chat::http
