#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chat::bench {

/// How a MATCH run's matchers ask:
///   people  each MATCH comes from the next person in turn (as when many people each press
///           Match once); M loops keep M MATCHes in flight; nobody leaves
///   next    M clients each loop MATCH, LEAVE, MATCH ("Next")
enum class match_loop { people, next };

/// Who does what in a MATCH run, by client index. With match_loop::next:
///   0 .. K-1         interest matchers: "Next" loops whose MATCHes name waiters' tags
///   K .. M-1         plain matchers: "Next" loops without interests (a random online pick)
///   M .. M+W-1       waiters: MATCH once with a tag nobody else has ("t<w>"), so they wait
///                    in the pool; MATCH again with it after each partner leaves
///   M+W ..           bystanders: online, picked at random, never ask
/// With match_loop::people the matchers are loops, not clients:
///   0 .. W-1         waiters, as above, but MATCH again as soon as someone takes them
///   W ..             people: picked at random, and asked to MATCH in turn by the loops;
///                    loops 0 .. K-1 name waiters' tags, the others none
/// (M matchers, K of them with interests, W waiters.)
struct match_mix {
    std::size_t matchers = 0;
    std::size_t interest_matchers = 0;  // K <= M
    std::size_t waiters = 0;
    match_loop loop = match_loop::people;
};

enum class match_role { bystander, plain_matcher, interest_matcher, waiter };

/// How many tags an interest matcher names in one MATCH.
inline constexpr std::size_t k_tags_per_match = 3;

match_role role_of(const match_mix& mix, std::size_t index);
inline bool is_matcher(match_role r) {
    return r == match_role::plain_matcher || r == match_role::interest_matcher;
}

/// The one tag of the waiter with client index `index`: "t<w>", w its place among the
/// waiters.
std::string waiter_tag(const match_mix& mix, std::size_t index);

/// The interests of interest matcher (or loop) `index`'s n-th MATCH (n from 0): the tags of
/// k_tags_per_match consecutive waiters from a cursor that starts at index x W / K (the
/// matchers spread evenly over the pool) and moves on by one waiter per MATCH, wrapping.
/// The pool hands out the longest-waiting of them the pair rules allow; since the repeat
/// window forbids a pair twice, a matcher finds someone only while n < W.
std::vector<std::string> matcher_tags(const match_mix& mix, std::size_t index, std::uint64_t n);

}  // namespace chat::bench
