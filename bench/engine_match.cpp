// The MATCH run: N clients online (bench/run.sh adds stored accounts), W of them sent
// into the waiting pool first with tags nobody else has, then for warm-up + duration
// either M loops that each ask the next person in turn to MATCH (people), or M matchers
// in a "Next" loop (MATCH, LEAVE, MATCH, ...); K of the loops or matchers name waiters'
// tags, the rest none (bench/match_mix.hpp). Afterwards: every answer in, every signal
// delivered, and check_matches over what the clients saw.
// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>

#include "bench/client_pool.hpp"
#include "bench/engine.hpp"

namespace chat::bench {

using namespace std::chrono_literals;

namespace {

// The waiters MATCH once with their own tag: nobody shares it, so each waits (13).
void seed_pool(client_pool& e, match_report& r) {
    if (e.mix.waiters == 0) return;
    const auto start = steady::now();
    std::size_t asked = 0;
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            if (c->role == match_role::waiter && c->st == connection::state::ready) {
                c->send_match();
                ++asked;
            }
        }
    });
    e.wait_until([&] { return e.sum(&live_counters::match_outstanding) <= 0; },
                 e.request_timeout, "the waiters' MATCH answers");
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            if (c->role != match_role::waiter) continue;
            if (c->waiting) ++r.seeded_waiting;
        }
    });
    r.waiters = asked;
    r.seed_codes[13] = r.seeded_waiting;
    std::fprintf(stderr, "chat-bench: %zu waiters asked, %llu wait in the pool (%.2f s)\n", asked,
                 static_cast<unsigned long long>(r.seeded_waiting),
                 std::chrono::duration<double>(steady::now() - start).count());
}

// Each matcher client starts its MATCH, LEAVE, MATCH... loop.
void start_next_loops(client_pool& e, match_report& r) {
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            if (!is_matcher(c->role) || c->st != connection::state::ready) continue;
            ++r.matchers;
            if (c->role == match_role::interest_matcher) ++r.interest_matchers;
            asio::post(w.ioc, [c] { c->next_match(); });
        }
    });
}

// The loops are spread over the workers (loop l on worker l mod T); each worker asks its
// own clients that are not waiters, in turn.
void start_people_loops(client_pool& e, match_report& r) {
    const auto& o = e.opts;
    const std::size_t workers = e.workers.size();
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns)
            if (c->role == match_role::bystander && c->st == connection::state::ready) w.people.push_back(c.get());
        for (std::size_t l = static_cast<std::size_t>(w.id); l < o.matchers; l += workers) w.loops.push_back({l});
        if (w.loops.size() >= w.people.size() && !w.loops.empty())
            throw std::runtime_error("a MATCH run needs more people than loops on each client thread");
        for (std::size_t l = 0; l < w.loops.size(); ++l) asio::post(w.ioc, [&w, l] { w.run_loop(l); });
    });
    r.matchers = o.matchers;
    r.interest_matchers = o.interest_matchers;
}

// What the clients saw, for check_matches; the window's counters and histograms.
match_records collect(client_pool& e, match_report& r) {
    match_records rec;
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            for (const auto& m : c->matches)
                if (e.is_bench_account(m.second)) rec.matches.push_back(m);
            for (auto s : c->new_session_signals) rec.new_sessions.emplace_back(s, c->account);
            for (const auto& l : c->leaves) rec.leaves.push_back(l);
            for (auto s : c->partner_exit_signals) rec.partner_exits.emplace_back(s, c->account);
            if (c->match_in_flight) ++r.unanswered;
            r.unanswered += c->leaves_pending.size();
            if (c->role != match_role::waiter && c->waiting) ++r.still_waiting;
        }
        r.latency.merge(w.match_latency);
        r.paired_latency.merge(w.match_paired_latency);
        r.leave_latency.merge(w.leave_latency);
        r.window_answered += w.window_match_answered;
        r.window_matched += w.window_matched;
        r.window_matched_on_interests += w.window_matched_on_interests;
        r.window_waits_ended += w.window_waits_ended;
        for (const auto& [code, n] : w.window_matcher_codes) r.matcher_codes[code] += n;
        for (const auto& [code, n] : w.window_waiter_codes) r.waiter_codes[code] += n;
        for (const auto& [code, n] : w.window_leave_codes) r.leave_codes[code] += n;
    });
    r.matched = rec.matches.size();
    return rec;
}

}  // namespace

match_report engine::run_match() {
    auto& e = *pool_;
    const auto& o = e.opts;
    match_report r;
    e.mix = match_mix{o.matchers, o.interest_matchers, o.match_waiters, o.loop};
    r.login = e.open_clients(o.match_accounts);
    if (r.login.logged_in <= o.matchers + o.match_waiters)
        throw std::runtime_error("not enough clients logged in to match");
    // Before the window: nothing is measured, the waiters may MATCH.
    e.clock.window_start = std::numeric_limits<std::int64_t>::max();
    e.clock.send_end = std::numeric_limits<std::int64_t>::max();
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) c->role = role_of(e.mix, c->index);
    });
    seed_pool(e, r);

    const std::int64_t start = now_ns() + seconds_to_ns(0.05);
    e.clock.window_start = start + seconds_to_ns(o.warmup);
    e.clock.send_end = start + seconds_to_ns(o.warmup + o.duration);
    r.seconds = o.duration;
    cpu_meter meter(o.watch);

    if (o.loop == match_loop::people) {
        start_people_loops(e, r);
    } else {
        start_next_loops(e, r);
    }
    std::fprintf(stderr,
                 "chat-bench: %zu %s (%zu with interests) among %zu online accounts, %llu waiting, "
                 "for %.1f s + %.1f s\n",
                 r.matchers,
                 o.loop == match_loop::people ? "loops ask people in turn to MATCH"
                                              : "clients MATCH and LEAVE back to back",
                 r.interest_matchers, r.login.logged_in,
                 static_cast<unsigned long long>(r.seeded_waiting), o.warmup, o.duration);
    std::this_thread::sleep_until(from_ns(e.clock.window_start));
    meter.start();
    std::uint64_t last = e.sum(&live_counters::match_ok), last_left = e.sum(&live_counters::leave_ok);
    while (now_ns() < e.clock.send_end) {
        std::this_thread::sleep_until(std::min(steady::now() + 1s, from_ns(e.clock.send_end)));
        const auto ok = e.sum(&live_counters::match_ok);
        const auto left = e.sum(&live_counters::leave_ok);
        std::fprintf(stderr, "chat-bench:   matched %llu (+%llu), left %llu (+%llu)\n",
                     static_cast<unsigned long long>(ok), static_cast<unsigned long long>(ok - last),
                     static_cast<unsigned long long>(left),
                     static_cast<unsigned long long>(left - last_left));
        last = ok;
        last_left = left;
    }
    r.cpu = meter.stop();

    // Every answer, then every NewSession and PartnerExit the answers imply.
    const auto limit = std::chrono::nanoseconds(seconds_to_ns(o.drain));
    e.wait_until(
        [&] {
            return e.sum(&live_counters::match_outstanding) <= 0 &&
                   e.sum(&live_counters::leave_outstanding) <= 0;
        },
        limit, "MATCH and LEAVE answers");
    std::uint64_t new_sessions = 0, partner_exits = 0;
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            for (const auto& m : c->matches) new_sessions += e.is_bench_account(m.second) ? 1 : 0;
            partner_exits += c->leaves.size();
        }
    });
    e.wait_until(
        [&] {
            return e.sum(&live_counters::new_sessions) >= new_sessions &&
                   e.sum(&live_counters::partner_exits) >= partner_exits;
        },
        limit, "NewSession and PartnerExit pushes");
    std::this_thread::sleep_for(k_late_duplicate_wait);

    r.check = check_matches(collect(e, r));
    e.merge_events(r.events);
    e.close_clients();
    return r;
}

}  // namespace chat::bench
