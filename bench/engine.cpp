// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/client_pool.hpp"

namespace chat::bench {

using namespace std::chrono_literals;

engine::engine(const options& o) : pool_(std::make_unique<client_pool>(o)) {}
engine::~engine() = default;

namespace {

// --ack-log: "<unix ms the DIALOGUE was due> <ack latency in us>" per line, in send order.
// The clients keep steady-clock times; the wall clock is what other logs (logic's metrics
// polled by bench/retention.sh) can be lined up with.
void write_ack_log(const std::string& path, std::vector<std::pair<std::int64_t, std::int64_t>>& log) {
    std::sort(log.begin(), log.end());
    const auto wall_minus_steady = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count() -
                                   now_ns();
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (!out) throw std::runtime_error("cannot write " + path);
    for (const auto& [due, latency] : log)
        std::fprintf(out, "%lld %lld\n", static_cast<long long>((due + wall_minus_steady) / 1'000'000),
                     static_cast<long long>(latency / 1000));
    if (std::fclose(out) != 0) throw std::runtime_error("cannot write " + path);
}

}  // namespace

dialogue_report engine::run_dialogue() {
    auto& e = *pool_;
    const auto& o = e.opts;
    dialogue_report r;
    r.login = e.open_clients(o.connections);
    if (r.login.logged_in < 2) throw std::runtime_error("fewer than two clients logged in");
    e.pair_up(r);
    if (r.slots == 0) throw std::runtime_error("no sessions between benchmark clients");

    e.closed_loop = o.closed_loop;
    e.window = o.window;
    const std::int64_t start = now_ns() + seconds_to_ns(0.05);
    e.clock.window_start = start + seconds_to_ns(o.warmup);
    e.clock.send_end = start + seconds_to_ns(o.warmup + o.duration);
    r.seconds = o.duration;
    r.offered_rate = o.closed_loop ? 0 : o.rate;

    // Open loop: each worker paces its share of the slots at its share of the rate.
    if (!o.closed_loop) {
        e.on_every_worker([&](worker& w) {
            w.slots.clear();
            // Round robin over clients first, so consecutive sends go to different clients.
            std::size_t depth = 0;
            bool more = true;
            while (more) {
                more = false;
                for (auto& c : w.conns) {
                    if (depth < c->rotation.size()) {
                        w.slots.emplace_back(c.get(), c->rotation[depth]);
                        more = true;
                    }
                }
                ++depth;
            }
        });
    }
    cpu_meter meter(o.watch);
    std::fprintf(
        stderr, "chat-bench: %s for %.1f s warm-up + %.1f s measured\n",
        o.closed_loop
            ? ("closed loop, window " + std::to_string(o.window)).c_str()
            : ("open loop at " + std::to_string(static_cast<long>(o.rate)) + " msg/s").c_str(),
        o.warmup, o.duration);
    e.on_every_worker([&](worker& w) {
        if (o.closed_loop) {
            asio::post(w.ioc, [&w, start, window = o.window] {
                const std::int64_t now = std::max(start, now_ns());
                for (auto& c : w.conns) {
                    for (std::size_t i = 0; i < window; ++i) {
                        if (!c->send_next(now)) break;
                    }
                }
            });
        } else if (!w.slots.empty()) {
            w.rate = o.rate * static_cast<double>(w.slots.size()) / static_cast<double>(r.slots);
            w.pace_start = start;
            w.paced = 0;
            w.pacer.expires_at(from_ns(start));
            w.pacer.async_wait([&w](beast::error_code ec) {
                if (!ec) w.pace();
            });
        }
    });

    // Progress once a second; the CPU meter covers exactly the measured window.
    bool metering = false;
    std::int64_t next_report = start + seconds_to_ns(1);
    std::uint64_t last_acked = 0;
    while (true) {
        const std::int64_t now = now_ns();
        if (!metering && now >= e.clock.window_start) {
            meter.start();
            metering = true;
        }
        if (now >= e.clock.send_end) break;
        if (now >= next_report) {
            const auto acked = e.sum(&live_counters::acked);
            std::fprintf(stderr,
                         "chat-bench:   t=%4.0fs sent %llu acked %llu (%llu/s) delivered %llu "
                         "outstanding %lld\n",
                         static_cast<double>(now - start) / 1e9,
                         static_cast<unsigned long long>(e.sum(&live_counters::sent)),
                         static_cast<unsigned long long>(acked),
                         static_cast<unsigned long long>(acked - last_acked),
                         static_cast<unsigned long long>(e.sum(&live_counters::deliveries)),
                         static_cast<long long>(e.sum(&live_counters::outstanding)));
            last_acked = acked;
            next_report += seconds_to_ns(1);
        }
        std::this_thread::sleep_until(from_ns(std::min(next_report, e.clock.send_end.load())));
    }
    r.cpu = meter.stop();

    // Drain: every request answered, then every acknowledged message delivered.
    const auto drain_start = steady::now();
    const auto drain_limit = std::chrono::nanoseconds(seconds_to_ns(o.drain));
    e.wait_until([&] { return e.sum(&live_counters::outstanding) <= 0; }, drain_limit,
                 "DIALOGUE answers");
    auto left = drain_limit - (steady::now() - drain_start);
    e.wait_until([&] { return e.sum(&live_counters::deliveries) >= e.sum(&live_counters::acked); },
                 std::max<std::chrono::nanoseconds>(left, 1s),
                 "deliveries of acknowledged messages");
    std::this_thread::sleep_for(k_late_duplicate_wait);
    r.drain_seconds = std::chrono::duration<double>(steady::now() - drain_start).count();

    std::vector<side_record> sides;
    std::vector<std::pair<std::int64_t, std::int64_t>> ack_log;
    e.on_every_worker([&](worker& w) {
        w.pacer.cancel();
        for (auto& c : w.conns) {
            r.unanswered += c->pending.size();
            for (auto& [id, s] : c->sessions) {
                if (!s.bench_partner) continue;
                side_record rec;
                rec.session_id = id;
                rec.account_id = c->account;
                rec.partner_id = s.partner;
                rec.acked = s.acked;
                rec.received = s.received;
                sides.push_back(std::move(rec));
            }
        }
        r.unanswered += w.unanswered_on_drop;
        r.ack_latency.merge(w.ack_latency);
        ack_log.insert(ack_log.end(), w.ack_log.begin(), w.ack_log.end());
        r.delivery_latency.merge(w.delivery_latency);
        r.errors += w.errors;
        r.not_sent += w.not_sent;
        r.window_sent += w.window_sent;
        r.window_acked += w.window_acked;
        r.window_delivered += w.window_delivered;
    });
    if (!o.ack_log_path.empty()) write_ack_log(o.ack_log_path, ack_log);
    r.sent = e.sum(&live_counters::sent);
    r.acked = e.sum(&live_counters::acked);
    r.deliveries = e.sum(&live_counters::deliveries);
    e.merge_events(r.events);
    e.close_clients();
    r.check = verify(sides);
    return r;
}

idle_report engine::run_idle() {
    auto& e = *pool_;
    const auto& o = e.opts;
    idle_report r;
    auto broker_rss = [&] {
        std::uint64_t total = 0;
        for (pid_t pid : o.broker_pids) {
            auto kib = rss_kib(pid);
            if (!kib)
                throw std::runtime_error("cannot read VmRSS of broker pid " + std::to_string(pid));
            total += *kib;
        }
        return total;
    };
    r.broker_rss_before_kib = broker_rss();
    r.self_rss_before_kib = rss_kib(getpid()).value_or(0);
    r.login = e.open_clients(o.idle);
    std::fprintf(stderr, "chat-bench: idle for %.1f s before reading memory\n", o.settle);
    std::this_thread::sleep_for(std::chrono::nanoseconds(seconds_to_ns(o.settle)));
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            if (c->st == connection::state::ready) ++r.connections;
        }
    });
    r.broker_rss_after_kib = broker_rss();
    r.self_rss_after_kib = rss_kib(getpid()).value_or(0);
    e.merge_events(r.events);
    e.close_clients();
    return r;
}

}  // namespace chat::bench
