#pragma once

// What store.cpp and store_presence.cpp share; not for other includers.

#include <string>
#include <utility>
#include <vector>

#include "services/logic/src/store.hpp"
#include "shared/db/connect.hpp"

namespace chat::logic::store_internal {

inline constexpr int k_max_attempts = 5;

// An outcome that refuses: only its code and message are set.
template <typename Outcome>
Outcome refused(wire::code code, std::string msg) {
    Outcome out;
    out.code = code;
    out.msg = std::move(msg);
    return out;
}

// Interests come back from SQL joined by U+001F (tags cannot hold control characters).
inline std::vector<std::string> split_tags(const pqxx::field& f) {
    return f.is_null() ? std::vector<std::string>{} : db::split_unit_separated(f.as<std::string>());
}

// A connection key is "<broker epoch>/<connection number>".
inline std::string epoch_of(const std::string& conn_key) { return conn_key.substr(0, conn_key.find('/')); }

}  // namespace chat::logic::store_internal

namespace chat::logic {

// Runs one transaction body again when PostgreSQL aborted it for a deadlock, a
// serialization failure, or a unique key a concurrent transaction took first.
template <typename Work>
auto store::with_retry(Work&& work) {
    for (int attempt = 1;; ++attempt) {
        try {
            return work();
        } catch (const pqxx::transaction_rollback&) {
            if (attempt >= store_internal::k_max_attempts) throw;
        } catch (const pqxx::unique_violation&) {
            if (attempt >= store_internal::k_max_attempts) throw;
        }
    }
}

}  // namespace chat::logic
