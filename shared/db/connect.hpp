#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace chat::db {

/// Opens a connection, retrying with backoff (100 ms doubling to 2 s) until it succeeds
/// or `stop` becomes true (then returns null). Each failure is logged, rate-limited.
std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& url, const std::atomic<bool>& stop,
                                                     spdlog::logger& log);

/// A libpqxx array literal ("{1,2,3}") for a `$n::bigint[]` (or `$n::int[]`) parameter.
template <typename Range>
std::string bigint_array(const Range& values) {
    std::string out = "{";
    for (const auto& v : values) {
        if (out.size() > 1) out += ',';
        out += std::to_string(v);
    }
    out += '}';
    return out;
}

/// A libpqxx array literal for a `$n::text[]` parameter: every element quoted, with
/// backslash and double quote escaped, so any text (commas, braces, newlines) survives.
template <typename Range>
std::string text_array(const Range& values) {
    std::string out = "{";
    for (const auto& v : values) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char c : v) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

/// Splits what SQL's array_to_string(list, E'\x1f') made back into the list (empty
/// text: an empty list). For lists of text without control characters, like interests.
inline std::vector<std::string> split_unit_separated(const std::string& joined) {
    std::vector<std::string> out;
    std::size_t from = 0;
    while (from < joined.size()) {
        auto at = joined.find('\x1f', from);
        if (at == std::string::npos) at = joined.size();
        out.push_back(joined.substr(from, at - from));
        from = at + 1;
    }
    return out;
}

}  // namespace chat::db
