#include "bench/match_mix.hpp"

namespace chat::bench {

namespace {
// The first waiter's client index.
std::size_t first_waiter(const match_mix& mix) { return mix.loop == match_loop::people ? 0 : mix.matchers; }
}  // namespace

match_role role_of(const match_mix& mix, std::size_t index) {
    if (mix.loop == match_loop::people) return index < mix.waiters ? match_role::waiter : match_role::bystander;
    if (index < mix.interest_matchers) return match_role::interest_matcher;
    if (index < mix.matchers) return match_role::plain_matcher;
    if (index < mix.matchers + mix.waiters) return match_role::waiter;
    return match_role::bystander;
}

std::string waiter_tag(const match_mix& mix, std::size_t index) {
    return "t" + std::to_string(index - first_waiter(mix));
}

std::vector<std::string> matcher_tags(const match_mix& mix, std::size_t index, std::uint64_t n) {
    std::vector<std::string> tags;
    if (mix.waiters == 0 || mix.interest_matchers == 0) return tags;
    const std::uint64_t start = index * mix.waiters / mix.interest_matchers;
    const std::size_t count = k_tags_per_match < mix.waiters ? k_tags_per_match : mix.waiters;
    for (std::size_t i = 0; i < count; ++i)
        tags.push_back("t" + std::to_string((start + n + i) % mix.waiters));
    return tags;
}

}  // namespace chat::bench
