#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chat::util {

/// A token bucket: `rate` tokens per second, at most `burst` saved up. Not thread-safe;
/// keyed_rate_limiter wraps it for shared use.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate, double burst, clock::time_point now = clock::now())
        : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes one token if there is one.
    bool try_take(clock::time_point now = clock::now());
    clock::time_point last_used() const { return last_; }

private:
    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

/// One bucket per key (an account, an address), created on first use; buckets idle long
/// enough to be full again are forgotten by sweep(), so memory follows active keys.
class keyed_rate_limiter {
public:
    keyed_rate_limiter(double rate, double burst) : rate_(rate), burst_(burst) {}

    bool try_take(const std::string& key, token_bucket::clock::time_point now = token_bucket::clock::now());
    void sweep(token_bucket::clock::time_point now = token_bucket::clock::now());
    std::size_t size() const;

private:
    double rate_;
    double burst_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, token_bucket> buckets_;
};

}  // namespace chat::util
