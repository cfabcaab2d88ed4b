#pragma once

#include <chrono>

namespace chat::logic {

/// How presence behaves in the store (logic's `presence:` config, grace and token_ttl):
/// the one place these defaults live.
struct presence_policy {
    std::chrono::milliseconds grace{30'000};                       // 0: a drop ends sessions at once
    std::chrono::milliseconds token_ttl{30LL * 24 * 3600 * 1000};  // tokens expire after this
};

}  // namespace chat::logic
