// A client's MATCH and LEAVE: the answers, the signals they cause, and the loops of a
// MATCH run (bench/match_mix.hpp says who does what). match_loop::people:
//   loop     asks the next free person to MATCH -> the answer -> asks the next one
//   person   answered 13: waits in the pool, asked again once a NewSession ends that
//   waiter   MATCHes with its tag again as soon as it is paired (back into the pool)
// match_loop::next:
//   matcher  MATCH -> 0: LEAVE that session -> its answer -> MATCH ...
//                  -> 13 (an interest matcher whose waiters were all taken): wait in the
//                     pool; the NewSession that ends the wait is LEFT like a match
//            every NewSession it did not ask for (picked at random by another matcher)
//            is LEFT too, so it never reaches the conversation cap
//   waiter   after each PartnerExit, MATCH again with its tag (back into the pool)
// Only MATCH answers with code 0 are pairings; LEAVE is counted on its own.
// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/client_pool.hpp"
#include "bench/frames.hpp"

namespace chat::bench {

void connection::send_match() {
    switch (role) {
        case match_role::interest_matcher:
            return send_match(matcher_tags(w.eng.mix, index, matches_sent));
        case match_role::waiter:
            return send_match({waiter_tag(w.eng.mix, index)});
        default:
            return send_match({});
    }
}

void connection::send_match(const std::vector<std::string>& tags) {
    if (st != state::ready) return;
    match_in_flight = true;
    claimed_early = false;
    match_sent_ns = now_ns();
    w.live.match_outstanding.fetch_add(1, std::memory_order_relaxed);
    send(tags.empty() ? match_frame(account) : match_frame(account, tags));
    ++matches_sent;
}

void worker::run_loop(std::size_t l) {
    if (!eng.clock.sending(now_ns())) return;
    while (!people.empty()) {
        connection* c = people.front();
        people.pop_front();
        if (c->st != connection::state::ready || c->match_in_flight || c->waiting) continue;
        auto& loop = loops[l];
        c->asked_by = l;
        c->send_match(loop.index < eng.mix.interest_matchers ? matcher_tags(eng.mix, loop.index, loop.sent)
                                                              : std::vector<std::string>{});
        ++loop.sent;
        return;
    }
    event("a MATCH loop found nobody free to ask");
}

void connection::next_match() {
    if (!is_matcher(role) || match_in_flight || waiting || !leaves_pending.empty()) return;
    if (w.eng.clock.sending(now_ns())) send_match();
}

void connection::on_match_reply(const json& f) {
    if (!match_in_flight) return w.event("MATCH answer without a request");
    match_in_flight = false;
    const std::int64_t now = now_ns();
    w.live.match_outstanding.fetch_sub(1, std::memory_order_relaxed);
    w.live.match_answered.fetch_add(1, std::memory_order_relaxed);
    const int code = code_of(f);
    const bool in_window = w.eng.clock.in_window(match_sent_ns);
    if (in_window) {
        const auto took = static_cast<std::uint64_t>(now - match_sent_ns);
        w.match_latency.record(took);
        ++w.window_match_answered;
        ++(role == match_role::waiter ? w.window_waiter_codes : w.window_matcher_codes)[code];
        if (code == 0) w.match_paired_latency.record(took);
    }
    if (code == 0) {
        const std::int64_t session_id = int_field(f, "sessionId");
        const std::int64_t partner = int_field(f, "partnerId");
        session(session_id, partner);
        matches.emplace_back(session_id, partner);
        w.live.match_ok.fetch_add(1, std::memory_order_relaxed);
        if (in_window) {
            ++w.window_matched;
            auto common = f.find("commonInterests");
            if (common != f.end() && common->is_array() && !common->empty()) ++w.window_matched_on_interests;
        }
        if (is_matcher(role) && w.eng.clock.sending(now)) send_leave(session_id);
        // People: a waiter paired by its own MATCH goes back into the pool.
        if (role == match_role::waiter && w.eng.mix.loop == match_loop::people) match_again = true;
    } else if (code == 13) {
        // In the pool, unless a waiter took us before this answer arrived.
        waiting = !claimed_early;
    } else {
        w.event("MATCH code " + std::to_string(code));
    }
    // A waiter taken (people) or whose partner left (next) while this MATCH was on its
    // way: back into the pool.
    if (role == match_role::waiter && match_again) {
        match_again = false;
        if (w.eng.clock.sending(now)) send_match();
    }
    if (asked_by != k_no_loop) {
        const auto loop = asked_by;
        asked_by = k_no_loop;
        if (!waiting) w.people.push_back(this);  // a waiting person is asked again once taken
        w.run_loop(loop);
        return;
    }
    next_match();
}

void connection::on_new_session(const json& f, std::int64_t session_id) {
    std::int64_t partner = 0;
    bool shared = false;
    auto data = f.find("data");
    if (data != f.end() && data->is_object()) {
        partner = int_field(*data, "accountId");
        auto common = data->find("commonInterests");
        shared = common != data->end() && common->is_array() && !common->empty();
    }
    session(session_id, partner);
    new_session_signals.push_back(session_id);
    w.live.new_sessions.fetch_add(1, std::memory_order_relaxed);
    if (w.eng.mix.loop == match_loop::people) return on_new_session_people(shared);
    if (!is_matcher(role)) return;
    // A shared interest: a waiter took us from the pool (we asked with interests).
    if (shared) {
        if (waiting) {
            waiting = false;
            if (w.eng.clock.in_window(now_ns())) ++w.window_waits_ended;
        } else if (match_in_flight) {
            claimed_early = true;
        }
    }
    if (w.eng.clock.sending(now_ns())) send_leave(session_id);
}

// A people run: nobody leaves; a waiter goes back into the pool, a waiting person back
// among those the loops ask.
void connection::on_new_session_people(bool shared) {
    if (role == match_role::waiter) {
        if (match_in_flight) {
            match_again = true;
        } else if (w.eng.clock.sending(now_ns())) {
            send_match();
        }
        return;
    }
    if (!shared) return;  // picked at random
    if (waiting) {
        waiting = false;
        if (w.eng.clock.in_window(now_ns())) ++w.window_waits_ended;
        w.people.push_back(this);
    } else if (match_in_flight) {
        claimed_early = true;
    }
}

void connection::send_leave(std::int64_t session_id) {
    if (st != state::ready) return;
    leaves_pending.emplace(session_id, now_ns());
    w.live.leave_outstanding.fetch_add(1, std::memory_order_relaxed);
    send(leave_frame(session_id));
}

void connection::on_leave_reply(const json& f) {
    const std::int64_t session_id = int_field(f, "sessionId");
    auto it = leaves_pending.find(session_id);
    if (it == leaves_pending.end()) return w.event("LEAVE answer without a request");
    const std::int64_t sent = it->second;
    leaves_pending.erase(it);
    w.live.leave_outstanding.fetch_sub(1, std::memory_order_relaxed);
    const int code = code_of(f);
    const bool in_window = w.eng.clock.in_window(sent);
    if (in_window) {
        w.leave_latency.record(static_cast<std::uint64_t>(now_ns() - sent));
        ++w.window_leave_codes[code];
    }
    if (code == 0) {
        w.live.leave_ok.fetch_add(1, std::memory_order_relaxed);
        auto s = sessions.find(session_id);
        if (s != sessions.end()) {
            s->second.open = false;
            if (s->second.bench_partner) leaves.emplace_back(session_id, s->second.partner);
        }
    } else {
        // 8: the partner (another matcher that was given us) left first.
        w.event("LEAVE code " + std::to_string(code));
    }
    next_match();
}

void connection::on_partner_exit(std::int64_t session_id) {
    partner_exit_signals.push_back(session_id);
    w.live.partner_exits.fetch_add(1, std::memory_order_relaxed);
    close_session(session_id);
    if (role == match_role::bystander) {
        // Not in a MATCH run's loop: a dialogue run fails on it (no client leaves).
        if (w.eng.opts.mode != run_mode::match) w.event("PUSH_SIGNAL PartnerExit");
        return;
    }
    if (role != match_role::waiter || !w.eng.clock.sending(now_ns())) return;
    // Next: back into the pool with the same tag.
    if (match_in_flight) {
        match_again = true;
    } else {
        send_match();
    }
}

}  // namespace chat::bench
