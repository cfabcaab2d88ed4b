// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/client_pool.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace chat::bench {

using namespace std::chrono_literals;

client_pool::client_pool(const options& o) : opts(o) {
    request_timeout = std::chrono::nanoseconds(seconds_to_ns(o.request_timeout));
    asio::io_context resolver_context;
    tcp::resolver resolver(resolver_context);
    for (const auto& b : o.brokers) {
        beast::error_code ec;
        auto results = resolver.resolve(b.host, std::to_string(b.port), ec);
        if (ec || results.empty()) {
            throw std::runtime_error("cannot resolve broker " + b.host + ": " + ec.message());
        }
        endpoints.push_back(*results.begin());
        host_headers.push_back(b.host + ":" + std::to_string(b.port));
    }
    for (int i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<worker>(*this, i));
}

client_pool::~client_pool() {
    try {
        close_clients();
    } catch (...) {
    }
    workers.clear();
}

std::uint64_t client_pool::sum(std::atomic<std::uint64_t> live_counters::*field) const {
    std::uint64_t total = 0;
    for (const auto& w : workers) total += (w->live.*field).load(std::memory_order_relaxed);
    return total;
}

std::int64_t client_pool::sum(std::atomic<std::int64_t> live_counters::*field) const {
    std::int64_t total = 0;
    for (const auto& w : workers) total += (w->live.*field).load(std::memory_order_relaxed);
    return total;
}

login_report client_pool::open_clients(std::size_t count) {
    login_report r;
    r.requested = count;
    const auto per_worker_limit =
        std::max<std::size_t>(1, opts.connect_concurrency / workers.size());
    const auto start = steady::now();
    // Client i goes to broker i mod B, on thread i mod T.
    std::vector<std::vector<std::shared_ptr<connection>>> batches(workers.size());
    on_every_worker([&](worker& w) {
        w.login_limit = per_worker_limit;
        for (std::size_t i = static_cast<std::size_t>(w.id); i < count; i += workers.size()) {
            auto c = std::make_shared<connection>(w, i, i % endpoints.size());
            w.conns.push_back(c);
            w.login_queue.push_back(c);
        }
        w.schedule_ack_flush();
        w.start_logins();
    });
    std::fprintf(stderr, "chat-bench: opening %zu clients on %zu broker(s), %zu at a time\n", count,
                 endpoints.size(), per_worker_limit * workers.size());
    // Each login may take up to the request timeout, but they go on in parallel.
    const auto limit =
        request_timeout *
        static_cast<std::int64_t>(1 + count / std::max<std::size_t>(1, opts.connect_concurrency));
    wait_until(
        [&] { return sum(&live_counters::logged_in) + sum(&live_counters::login_failed) >= count; },
        limit, "logins");
    r.seconds = std::chrono::duration<double>(steady::now() - start).count();
    on_every_worker([&](worker& w) {
        r.latency.merge(w.login_latency);
        for (const auto& [why, n] : w.login_failures) r.failures[why] += n;
        for (const auto& c : w.conns) {
            if (c->st == connection::state::ready) bench_accounts.insert(c->account);
        }
    });
    r.logged_in = sum(&live_counters::logged_in);
    r.failed = count - r.logged_in;
    std::fprintf(stderr, "chat-bench: %zu of %zu clients logged in in %.2f s (%.0f accounts/s)\n",
                 r.logged_in, count, r.seconds,
                 static_cast<double>(r.logged_in) / std::max(r.seconds, 1e-9));
    return r;
}

void client_pool::close_clients() {
    if (workers.empty()) return;
    on_every_worker([](worker& w) {
        w.closing = true;
        w.pacer.cancel();
        w.ack_timer.cancel();
        w.login_queue.clear();
        for (auto& c : w.conns) c->close();
    });
    // Give the close handshakes a moment, then cut what is left, so every pending
    // handler runs (aborted) while the threads still run.
    std::this_thread::sleep_for(300ms);
    on_every_worker([](worker& w) {
        for (auto& c : w.conns) {
            beast::error_code ignored;
            beast::get_lowest_layer(c->ws).socket().close(ignored);
        }
    });
    std::this_thread::sleep_for(50ms);
    on_every_worker([](worker& w) { w.conns.clear(); });
}

std::uint64_t client_pool::expected_new_sessions() {
    std::uint64_t n = 0;
    on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            for (const auto& m : c->matches) n += is_bench_account(m.second) ? 1 : 0;
        }
    });
    return n;
}

void client_pool::merge_events(event_counts& into) {
    on_every_worker([&](worker& w) {
        for (const auto& [what, n] : w.events) into[what] += n;
        for (const auto& [why, n] : w.login_failures) into["login failed: " + why] += n;
    });
}

// Pairs the clients: every even client MATCHes (the partner is random among everyone
// online), then every client still without a session does. Sessions are learnt from
// MATCH answers and NewSession pushes, so any pairing works.
void client_pool::pair_up(dialogue_report& report) {
    const auto start = steady::now();
    clock.window_start = 0;
    clock.send_end = 0;
    for (int round = 0; round < 2; ++round) {
        std::size_t asked = 0;
        on_every_worker([&](worker& w) {
            for (auto& c : w.conns) {
                if (c->st != connection::state::ready) continue;
                bool ask = round == 0 ? c->index % 2 == 0 : c->sessions.empty();
                if (!ask) continue;
                c->send_match();
                ++asked;
            }
        });
        report.match_requests += asked;
        wait_until([&] { return sum(&live_counters::match_outstanding) == 0; }, request_timeout,
                   "MATCH answers");
        // The partners' NewSession pushes, so round 2 sees who is still alone.
        const std::uint64_t expected = expected_new_sessions();
        wait_until([&] { return sum(&live_counters::new_sessions) >= expected; }, 10s,
                   "NewSession pushes");
    }
    std::set<std::int64_t> sessions;
    on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            c->rotation.clear();
            for (auto& [id, s] : c->sessions) {
                if (s.bench_partner && s.open) {
                    c->rotation.push_back(id);
                    sessions.insert(id);
                }
            }
            if (!c->rotation.empty()) ++report.active_clients;
            report.slots += c->rotation.size();
            // Spread the clients' first sends over their sessions.
            c->next_in_rotation = c->index;
        }
    });
    report.sessions = sessions.size();
    std::fprintf(stderr,
                 "chat-bench: %zu MATCH requests made %zu sessions; %zu clients send into %zu "
                 "slots (%.2f s)\n",
                 static_cast<std::size_t>(report.match_requests), report.sessions,
                 report.active_clients, report.slots,
                 std::chrono::duration<double>(steady::now() - start).count());
}

// ------------------------------------------------------------------------------------
// worker

void worker::start_logins() {
    while (logins_in_flight < login_limit && !login_queue.empty()) {
        auto c = login_queue.front();
        login_queue.pop_front();
        ++logins_in_flight;
        c->open();
    }
}
void worker::login_finished(bool ok, const std::string& why) {
    --logins_in_flight;
    if (ok) {
        live.logged_in.fetch_add(1, std::memory_order_relaxed);
    } else {
        ++login_failures[why];
        live.login_failed.fetch_add(1, std::memory_order_relaxed);
    }
    start_logins();
}

void worker::schedule_ack_flush() {
    ack_timer.expires_after(
        std::chrono::microseconds(static_cast<std::int64_t>(eng.opts.ack_interval_ms * 1000)));
    ack_timer.async_wait([this](beast::error_code ec) {
        if (ec) return;
        auto dirty = std::move(dirty_connections);
        dirty_connections.clear();
        for (auto* c : dirty) {
            for (auto id : c->dirty_sessions) {
                auto it = c->sessions.find(id);
                if (it != c->sessions.end() && it->second.ack_dirty) c->send_ack(it->second);
            }
            c->dirty_sessions.clear();
        }
        schedule_ack_flush();
    });
}

void worker::pace() {
    const std::int64_t now = now_ns();
    const std::int64_t end = eng.clock.send_end.load(std::memory_order_relaxed);
    auto due_of = [&](std::uint64_t k) {
        return pace_start + static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / rate);
    };
    std::int64_t due = due_of(paced);
    while (due <= now && due < end) {
        auto [c, session_id] = slots[paced % slots.size()];
        ++paced;
        auto it = c->sessions.find(session_id);
        if (c->st == connection::state::ready && it != c->sessions.end() && it->second.open) {
            c->send_dialogue(session_id, due);
        } else {
            ++not_sent;
        }
        due = due_of(paced);
    }
    if (due >= end) return;
    pacer.expires_at(from_ns(due));
    pacer.async_wait([this](beast::error_code ec) {
        if (!ec) pace();
    });
}

}  // namespace chat::bench
