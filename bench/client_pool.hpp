#pragma once

// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench/client.hpp"
#include "bench/engine.hpp"
#include "tests/support/run_on.hpp"

namespace chat::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// How often the main thread looks at the workers' progress.
inline constexpr auto k_poll = std::chrono::milliseconds(20);
/// After the drain, for late duplicates.
inline constexpr auto k_late_duplicate_wait = std::chrono::milliseconds(500);

struct worker;

/// The clients and their I/O threads, and the phases every run goes through: open and log
/// in N clients, pair them into sessions, close them. The main thread drives it; the
/// clients' state is only touched on their workers' threads (on_every_worker).
struct client_pool {
    explicit client_pool(const options& o);
    ~client_pool();

    // --- phases, called on the main thread ---
    login_report open_clients(std::size_t count);
    void pair_up(dialogue_report& report);
    void close_clients();

    template <class F>
    void on_every_worker(F f);  // runs f(worker&) on each worker's thread, waits for all
    std::uint64_t sum(std::atomic<std::uint64_t> live_counters::*field) const;
    std::int64_t sum(std::atomic<std::int64_t> live_counters::*field) const;
    /// Polls until `done` or the deadline; false on timeout.
    template <class P>
    bool wait_until(P done, std::chrono::nanoseconds limit, const char* what,
                    bool show_progress = true);
    void merge_events(event_counts& into);
    /// NewSession pushes our clients should get: matches whose partner is one of ours.
    std::uint64_t expected_new_sessions();
    bool is_bench_account(std::int64_t id) const { return bench_accounts.count(id) != 0; }

    const options& opts;
    std::vector<tcp::endpoint> endpoints;
    std::vector<std::string> host_headers;
    std::chrono::nanoseconds request_timeout;
    run_clock clock;
    bool closed_loop = false;
    std::size_t window = 1;
    std::unordered_set<std::int64_t> bench_accounts;  // written between phases only
    match_mix mix;                                    // a MATCH run's roles (set before it)
    std::vector<std::unique_ptr<worker>> workers;
};

/// One I/O thread with its io_context and the clients it owns; paces the open loop's
/// sends and flushes the clients' delayed ACKs.
struct worker {
    worker(client_pool& e, int id) : eng(e), id(id), pacer(ioc), ack_timer(ioc) {
        thread = std::thread([this] { ioc.run(); });
    }
    ~worker() {
        work.reset();
        ioc.stop();
        if (thread.joinable()) thread.join();
    }

    template <class F>
    auto run_sync(F&& f) -> decltype(f()) {
        return test::run_on(ioc, std::forward<F>(f));
    }

    void event(const std::string& what) { ++events[what]; }

    // Opening clients with a bounded number in progress.
    void start_logins();
    void login_finished(bool ok, const std::string& why);
    /// Every ack_interval: the cumulative ACKs the clients held back.
    void schedule_ack_flush();
    /// Open loop: message k of this worker is due at pace_start + k / rate and goes to
    /// slot k mod |slots|, so every (client, session) pair sends at the same pace.
    void pace();
    /// A people MATCH run: loop `l` sends its next MATCH from the next free person.
    void run_loop(std::size_t l);

    client_pool& eng;
    const int id;
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    asio::steady_timer pacer;
    asio::steady_timer ack_timer;
    std::vector<std::shared_ptr<connection>> conns;
    std::deque<std::shared_ptr<connection>> login_queue;
    std::size_t logins_in_flight = 0;
    std::size_t login_limit = 1;
    std::vector<connection*> dirty_connections;
    bool closing = false;

    // open loop
    std::vector<std::pair<connection*, std::int64_t>> slots;
    double rate = 0;
    std::int64_t pace_start = 0;
    std::uint64_t paced = 0;

    // people MATCH run: the loops this worker drives and who is asked next
    struct asking_loop {
        std::size_t index;      // among all loops: below K it names waiters' tags
        std::uint64_t sent = 0;  // MATCHes sent, the cursor into the waiters' tags
    };
    std::vector<asking_loop> loops;
    std::deque<connection*> people;  // free to be asked, in turn

    // read by the main thread only through run_sync
    histogram login_latency, ack_latency, delivery_latency;
    std::vector<std::pair<std::int64_t, std::int64_t>> ack_log;  // --ack-log: (due, steady ns; latency ns)
    histogram match_latency, match_paired_latency, leave_latency;  // MATCH any code, code 0; LEAVE
    std::map<std::string, std::uint64_t> login_failures;
    event_counts events;
    std::uint64_t errors = 0, not_sent = 0, unanswered_on_drop = 0;
    std::uint64_t window_sent = 0, window_acked = 0, window_delivered = 0;
    std::uint64_t window_match_answered = 0, window_matched = 0;
    std::uint64_t window_matched_on_interests = 0;  // code 0 with commonInterests
    std::uint64_t window_waits_ended = 0;           // a waiting matcher taken from the pool
    std::map<int, std::uint64_t> window_matcher_codes, window_waiter_codes, window_leave_codes;

    live_counters live;
    std::thread thread;  // last: starts once everything above exists
};

template <class F>
void client_pool::on_every_worker(F f) {
    for (auto& w : workers) w->run_sync([&] { f(*w); });
}

template <class P>
bool client_pool::wait_until(P done, std::chrono::nanoseconds limit, const char* what,
                             bool show_progress) {
    const auto start = steady::now();
    auto next_report = start + std::chrono::seconds(5);
    while (!done()) {
        if (steady::now() - start > limit) {
            std::fprintf(stderr, "chat-bench: gave up waiting for %s after %.1f s\n", what,
                         std::chrono::duration<double>(limit).count());
            return false;
        }
        if (show_progress && steady::now() >= next_report) {
            std::fprintf(stderr, "chat-bench:   still waiting for %s (%.0f s)\n", what,
                         std::chrono::duration<double>(steady::now() - start).count());
            next_report += std::chrono::seconds(5);
        }
        std::this_thread::sleep_for(k_poll);
    }
    return true;
}

}  // namespace chat::bench
