#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chat::bench {

/// (session, account): a session and one of its members.
using session_member = std::pair<std::int64_t, std::int64_t>;

/// What the clients of a MATCH run saw, for check_matches. Only pairs between two
/// benchmark clients can be checked: the stored accounts read nothing.
struct match_records {
    /// MATCH answered 0 whose partner is a benchmark client: (session, partner).
    std::vector<session_member> matches;
    /// PUSH_SIGNAL NewSession received: (session, receiver).
    std::vector<session_member> new_sessions;
    /// LEAVE answered 0 whose partner is a benchmark client: (session, partner).
    std::vector<session_member> leaves;
    /// PUSH_SIGNAL PartnerExit received: (session, receiver).
    std::vector<session_member> partner_exits;
};

struct match_verdict {
    // Failures.
    std::uint64_t new_session_missing = 0;     // a match whose partner got no NewSession
    std::uint64_t new_session_duplicated = 0;  // extra NewSessions for one (session, receiver)
    std::uint64_t partner_exit_missing = 0;    // a LEAVE whose partner got no PartnerExit
    std::uint64_t partner_exit_duplicated = 0;
    std::uint64_t partner_exit_unexplained = 0;  // PartnerExit without a LEAVE by the partner
    // Information: NewSession without a MATCH answer, from a pairing nobody asked for just
    // then (the pool's sweep, or someone logging in: 0 while every waiter's interest wait
    // outlasts the run).
    std::uint64_t new_session_unasked = 0;
    std::vector<std::string> examples;  // the first few failures, readable

    bool ok() const {
        return new_session_missing == 0 && new_session_duplicated == 0 &&
               partner_exit_missing == 0 && partner_exit_duplicated == 0 &&
               partner_exit_unexplained == 0;
    }
};

/// Every successful MATCH told its partner exactly once (NewSession), whether the partner
/// was picked at random or taken from the pool; every successful LEAVE told its partner
/// exactly once (PartnerExit), and nobody was told of an exit nobody made.
match_verdict check_matches(const match_records& r, std::size_t max_examples = 10);

}  // namespace chat::bench
