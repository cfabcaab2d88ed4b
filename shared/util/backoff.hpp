#pragma once

#include <algorithm>
#include <chrono>

namespace chat::util {

/// Exponential backoff: the wait before retry number `attempt` (0 for the first retry)
/// is `first` doubled `attempt` times, never more than `cap`. Every retry loop in the
/// services takes its delays from one of these, so a change of policy is one edit.
class backoff {
public:
    constexpr backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap) : first_(first), cap_(cap) {}

    constexpr std::chrono::milliseconds delay(int attempt) const {
        auto d = first_;
        for (int i = 0; i < attempt && d < cap_; ++i) d *= 2;
        return std::min(d, cap_);
    }

    constexpr std::chrono::milliseconds first() const { return first_; }
    constexpr std::chrono::milliseconds cap() const { return cap_; }

private:
    std::chrono::milliseconds first_;
    std::chrono::milliseconds cap_;
};

}  // namespace chat::util
