#include "shared/util/rate_limiter.hpp"

#include <algorithm>

namespace chat::util {

bool token_bucket::try_take(clock::time_point now) {
    const std::chrono::duration<double> elapsed = now - last_;
    if (elapsed.count() > 0) {
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

bool keyed_rate_limiter::try_take(const std::string& key, token_bucket::clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = buckets_.try_emplace(key, rate_, burst_, now).first;
    return it->second.try_take(now);
}

void keyed_rate_limiter::sweep(token_bucket::clock::time_point now) {
    // A bucket idle for burst / rate seconds is full again: dropping it changes nothing.
    const auto refill = std::chrono::duration<double>(burst_ / rate_);
    std::lock_guard lock(mutex_);
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        if (now - it->second.last_used() > refill)
            it = buckets_.erase(it);
        else
            ++it;
    }
}

std::size_t keyed_rate_limiter::size() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace chat::util
