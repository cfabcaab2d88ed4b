#include "bench/match_check.hpp"

#include <map>
#include <set>

namespace chat::bench {
namespace {

using counts = std::map<session_member, int>;

counts count(const std::vector<session_member>& received) {
    counts c;
    for (const auto& m : received) ++c[m];
    return c;
}

std::string describe(const char* what, const session_member& m, const char* how) {
    return std::string(what) + " " + std::to_string(m.first) + ": account " +
           std::to_string(m.second) + " " + how;
}

// One kind of signal: each expected (session, member) received exactly once; returns
// the received ones nobody expected.
struct signal_check {
    std::uint64_t missing = 0, duplicated = 0, unexpected = 0;
};

signal_check check_signal(const std::vector<session_member>& expected,
                          const std::vector<session_member>& received, const char* signal,
                          bool examples_for_unexpected, match_verdict& v,
                          std::size_t max_examples) {
    signal_check c;
    auto note = [&](std::string text) {
        if (v.examples.size() < max_examples) v.examples.push_back(std::move(text));
    };
    const counts told = count(received);
    const std::set<session_member> wanted(expected.begin(), expected.end());
    for (const auto& m : wanted) {
        if (told.count(m) == 0) {
            ++c.missing;
            note(describe("session", m, (std::string("got no ") + signal).c_str()));
        }
    }
    for (const auto& [m, n] : told) {
        if (n > 1) {
            c.duplicated += static_cast<std::uint64_t>(n - 1);
            note(describe("session", m,
                          (std::string("got ") + signal + " " + std::to_string(n) + " times")
                              .c_str()));
        }
        if (wanted.count(m) == 0) {
            ++c.unexpected;
            if (examples_for_unexpected)
                note(describe("session", m, (std::string("got an unexplained ") + signal).c_str()));
        }
    }
    return c;
}

}  // namespace

match_verdict check_matches(const match_records& r, std::size_t max_examples) {
    match_verdict v;
    const auto ns = check_signal(r.matches, r.new_sessions, "NewSession", false, v, max_examples);
    v.new_session_missing = ns.missing;
    v.new_session_duplicated = ns.duplicated;
    v.new_session_unasked = ns.unexpected;
    const auto pe = check_signal(r.leaves, r.partner_exits, "PartnerExit", true, v, max_examples);
    v.partner_exit_missing = pe.missing;
    v.partner_exit_duplicated = pe.duplicated;
    v.partner_exit_unexplained = pe.unexpected;
    return v;
}

}  // namespace chat::bench
