#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace chat::test {

/// An integer field of a broker frame; 0 when it is missing or not an integer.
inline std::int64_t int_field(const nlohmann::json& frame, const char* name) {
    auto it = frame.find(name);
    return it != frame.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

/// A response's `code`; -1 when it has none.
inline int code_of(const nlohmann::json& frame) {
    auto it = frame.find("code");
    return it != frame.end() && it->is_number_integer() ? it->get<int>() : -1;
}

}  // namespace chat::test
