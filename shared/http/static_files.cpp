#include "shared/http/static_files.hpp"

#include <map>

namespace chat::http {

std::string content_type_for(const std::filesystem::path& file) {
    static const std::map<std::string, std::string> types = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".jpg", "image/jpeg"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"},
        {".woff", "font/woff"}, {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
    };
    const auto it = types.find(file.extension().string());
    return it == types.end() ? "application/octet-stream" : it->second;
}

std::optional<static_file> resolve_static(const std::filesystem::path& root, std::string_view target,
                                          std::string_view page) {
    auto path = target.substr(0, target.find_first_of("?#"));
    if (path.empty() || path.front() != '/') return std::nullopt;
    // No "..", no backslashes, no NULs: the target must name a file inside root.
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '\\' || path[i] == '\0') return std::nullopt;
        if (path.compare(i, 3, "/..") == 0 && (i + 3 == path.size() || path[i + 3] == '/')) return std::nullopt;
    }
    std::filesystem::path relative(std::string(path.substr(1)));
    if (relative.empty() || !relative.has_extension()) relative = std::string(page);
    auto full = root / relative;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec)) return std::nullopt;
    static_file out;
    out.path = full;
    out.content_type = content_type_for(full);
    const bool hashed_asset = path.rfind("/assets/", 0) == 0;
    out.cache_control = hashed_asset ? "public, max-age=31536000, immutable" : "no-cache";
    return out;
}

}  // namespace chat::http
