#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chat::bench::ceiling {

/// An account of the run, online on the benchmark's broker over its own connection.
struct account {
    std::int64_t id = 0;
    std::string conn_key;  // "<broker epoch>/<connection number>", as the broker makes them
};

/// A session between accounts[2i] and accounts[2i + 1].
struct session {
    std::int64_t id = 0;
    std::size_t first = 0, second = 0;  // indexes into population::accounts
};

struct population {
    std::string broker_id;
    std::vector<account> accounts;
    std::vector<session> sessions;
};

/// Creates 2 x `sessions` accounts online on `broker_id` with logic's create_account, and
/// opens a session between each pair with logic's open_session statement (as MATCH
/// does); then deletes the NewSession inbox rows and settles. Commits are asynchronous
/// here: none of this is measured.
population populate(const std::string& url, std::size_t sessions, const std::string& broker_id);

/// VACUUM ANALYZE and CHECKPOINT: fresh statistics (logic's statements run with
/// plan_cache_mode = force_generic_plan, so a plan made while `messages` looked empty
/// would scan it on every batch until autovacuum's next ANALYZE), and no checkpoint due.
void settle(const std::string& url);

}  // namespace chat::bench::ceiling
