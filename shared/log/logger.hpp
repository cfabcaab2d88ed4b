#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace chat::log {

/// Creates the service's one named logger (to stderr), makes it the default, and sets
/// its level ("trace".."off") and format: "text" (for people) or "json" (one JSON object
/// per line, for log shippers: time in UTC, level, service, msg).
std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name, const std::string& level,
                                                    const std::string& format = "text");

/// The line format of make_service_logger: "text" or "json".
std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format);

/// `text` as the inside of a JSON string: quotes, backslashes and control characters
/// escaped; bytes that are not valid UTF-8 become U+FFFD, so every line stays valid JSON.
std::string json_escape(std::string_view text);

}  // namespace chat::log
