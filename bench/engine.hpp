#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/histogram.hpp"
#include "bench/match_check.hpp"
#include "bench/options.hpp"
#include "bench/proc_stats.hpp"
#include "bench/verify.hpp"

namespace chat::bench {

/// Opening connections and creating one account on each.
struct login_report {
    std::size_t requested = 0;
    std::size_t logged_in = 0;
    std::size_t failed = 0;
    double seconds = 0;
    histogram latency;                              // TCP connect → CRT_ACCOUNT code 0, ns
    std::map<std::string, std::uint64_t> failures;  // reason → count
};

/// Things that happened and are not measurements: error codes, signals, closes.
using event_counts = std::map<std::string, std::uint64_t>;

struct dialogue_report {
    login_report login;
    std::size_t sessions = 0;  // sessions between two benchmark clients
    std::size_t slots = 0;     // (client, session) pairs that send
    std::size_t active_clients = 0;
    std::uint64_t match_requests = 0;
    double seconds = 0;       // the measured window
    double offered_rate = 0;  // open loop only

    // Whole run (warm-up, window and tail).
    std::uint64_t sent = 0;
    std::uint64_t acked = 0;       // code 0
    std::uint64_t errors = 0;      // answered with another code
    std::uint64_t unanswered = 0;  // no answer by the end of the drain
    std::uint64_t not_sent = 0;    // open loop: due, but the slot's session was closed
    std::uint64_t deliveries = 0;  // PUSH_DIALOGUE frames received

    // Messages whose send time fell in the measured window.
    std::uint64_t window_sent = 0;
    std::uint64_t window_acked = 0;
    std::uint64_t window_delivered = 0;
    histogram ack_latency;       // DIALOGUE sent → code 0, ns
    histogram delivery_latency;  // DIALOGUE sent → partner's PUSH_DIALOGUE, ns

    double drain_seconds = 0;
    verdict check;
    event_counts events;
    cpu_meter::result cpu;
};

/// Answers by code (0 paired, 13 waiting, 14 banned, 15 at the cap, ...).
using code_counts = std::map<int, std::uint64_t>;

struct match_report {
    login_report login;
    std::size_t matchers = 0;           // running the "Next" loop (MATCH, LEAVE, MATCH, ...)
    std::size_t interest_matchers = 0;  // of them, naming waiters' tags
    std::size_t waiters = 0;            // clients sent into the pool before the window
    std::uint64_t seeded_waiting = 0;   // of them, answered 13 (in the pool when it opened)
    code_counts seed_codes;
    double seconds = 0;
    // MATCHes sent in the measured window.
    std::uint64_t window_answered = 0;
    std::uint64_t window_matched = 0;              // code 0: pairings, the headline
    std::uint64_t window_matched_on_interests = 0;  // of them, with a shared interest
    std::uint64_t window_waits_ended = 0;  // matchers that waited (13) and a waiter took
    code_counts matcher_codes, waiter_codes;        // in the window, by who asked
    code_counts leave_codes;                        // LEAVEs sent in the window
    std::uint64_t matched = 0;  // whole run: code 0 with a benchmark client as partner
    histogram latency;          // MATCH sent -> answer (any code), in the window, ns
    histogram paired_latency;   // the same, code 0 only
    histogram leave_latency;    // LEAVE sent -> answer, in the window, ns
    std::size_t still_waiting = 0;  // matchers in the pool when the window closed
    std::uint64_t unanswered = 0;   // MATCH or LEAVE
    match_verdict check;
    event_counts events;
    cpu_meter::result cpu;
    bool ok() const { return check.ok() && unanswered == 0; }
};

struct idle_report {
    login_report login;
    std::uint64_t broker_rss_before_kib = 0;
    std::uint64_t broker_rss_after_kib = 0;
    std::uint64_t self_rss_before_kib = 0;
    std::uint64_t self_rss_after_kib = 0;
    std::size_t connections = 0;  // open when the memory was read
    double kib_per_connection() const {
        return connections == 0 ? 0
                                : (static_cast<double>(broker_rss_after_kib) -
                                   static_cast<double>(broker_rss_before_kib)) /
                                      static_cast<double>(connections);
    }
    event_counts events;
};

struct client_pool;

/// The load generator: Beast WebSocket clients on `threads` I/O threads (each thread
/// runs its own io_context and owns its clients, so no client state is shared or
/// locked). Each run_* opens the clients, does its work, closes them, and reports.
class engine {
  public:
    explicit engine(const options& o);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    dialogue_report run_dialogue();
    match_report run_match();
    idle_report run_idle();

  private:
    std::unique_ptr<client_pool> pool_;
};

}  // namespace chat::bench
