#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>

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

}  // namespace chat::db
