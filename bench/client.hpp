#pragma once

// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include <atomic>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/match_mix.hpp"

namespace chat::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

/// Every timestamp the clients keep is steady-clock nanoseconds.
inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}
inline steady::time_point from_ns(std::int64_t ns) {
    return steady::time_point(std::chrono::nanoseconds(ns));
}
inline std::int64_t seconds_to_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

// State shared by every thread. Written by the main thread before it starts a phase
// (the post() that starts it orders the writes), read by the I/O threads.
struct run_clock {
    std::atomic<std::int64_t> window_start{0};  // measuring starts (end of warm-up)
    std::atomic<std::int64_t> send_end{0};      // nothing new is sent from here on
    bool in_window(std::int64_t t) const {
        return t >= window_start.load(std::memory_order_relaxed) &&
               t < send_end.load(std::memory_order_relaxed);
    }
    bool sending(std::int64_t now) const { return now < send_end.load(std::memory_order_relaxed); }
};

struct worker;

/// connection::asked_by when no loop of a people MATCH run is waiting on the client.
inline constexpr std::size_t k_no_loop = static_cast<std::size_t>(-1);

/// One client's side of a session: what it sent that was acknowledged, what it received
/// (verify() compares the two sides), and its cumulative ACK state.
struct session_side {
    std::int64_t id = 0;
    std::int64_t partner = 0;
    bool bench_partner = false;  // the partner is one of our clients
    bool open = true;
    std::vector<std::pair<std::uint64_t, std::int64_t>> acked;  // (send seq, msgId)
    std::vector<std::int64_t> received;
    std::int64_t highest_received = 0;
    std::int64_t ack_sent = 0;  // msgId of the last ACK frame
    std::size_t unacked = 0;
    bool ack_dirty = false;
};

/// A DIALOGUE sent and not yet answered, by requestId.
struct pending_dialogue {
    std::int64_t session = 0;
    std::int64_t sent_ns = 0;  // the timestamp in the content: when it was due
};

// Progress counters the main thread polls while a worker runs.
struct live_counters {
    std::atomic<std::uint64_t> logged_in{0}, login_failed{0};
    std::atomic<std::uint64_t> sent{0}, answered{0}, acked{0}, deliveries{0};
    std::atomic<std::int64_t> outstanding{0};
    std::atomic<std::uint64_t> match_answered{0}, match_ok{0}, new_sessions{0};
    std::atomic<std::int64_t> match_outstanding{0};
    std::atomic<std::uint64_t> leave_ok{0}, partner_exits{0};
    std::atomic<std::int64_t> leave_outstanding{0};
    std::atomic<std::uint64_t> dropped{0};
};

/// One benchmark client: a Beast WebSocket connection to a broker that logs in, MATCHes,
/// sends DIALOGUEs and ACKs, and records what comes back. It lives on its worker's thread
/// and touches nothing else's state.
struct connection : std::enable_shared_from_this<connection> {
    enum class state { fresh, opening, logging_in, ready, dead };

    connection(worker& w, std::size_t index, std::size_t broker);

    void open();
    void on_connect(beast::error_code ec);
    void on_handshake(beast::error_code ec);
    void do_read();
    void on_read(beast::error_code ec);
    void send(std::string frame);
    void do_write();
    void fail(const std::string& reason);
    void close();

    void on_frame(std::string_view text);
    void on_login_reply(const json& f);
    void on_dialogue_reply(const json& f);
    void on_push(const json& f);
    void on_signal(const json& f);
    // MATCH, LEAVE and the "Next" loop (client_match.cpp).
    void on_match_reply(const json& f);
    void on_leave_reply(const json& f);
    void on_new_session(const json& f, std::int64_t session_id);
    void on_new_session_people(bool shared);
    void on_partner_exit(std::int64_t session_id);
    void send_leave(std::int64_t session_id);
    void next_match();  // a matcher's next MATCH once nothing of its own is pending

    session_side& session(std::int64_t id, std::int64_t partner);
    void send_match();  // with the tags of its role
    void send_match(const std::vector<std::string>& tags);
    void send_dialogue(std::int64_t session_id, std::int64_t due_ns);
    bool send_next(std::int64_t due_ns);  // closed loop: the next session in rotation
    void send_ack(session_side& s);
    void close_session(std::int64_t id);

    worker& w;
    const std::size_t index;
    const std::size_t broker;
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer read_buffer;
    std::deque<std::string> write_queue;
    bool writing = false;
    state st = state::fresh;
    bool login_reported = false;
    std::int64_t account = 0;
    std::int64_t login_started_ns = 0;

    std::map<std::int64_t, session_side> sessions;
    std::vector<std::int64_t> rotation;  // open sessions with a benchmark partner
    std::size_t next_in_rotation = 0;
    std::unordered_map<std::uint64_t, pending_dialogue> pending;
    std::uint64_t next_seq = 1;
    std::vector<std::int64_t> dirty_sessions;

    // MATCH runs (client_match.cpp). Matchers loop MATCH -> LEAVE -> MATCH ("Next"), or
    // loops ask people in turn; waiters MATCH with their tag again when taken or left.
    match_role role = match_role::bystander;
    std::size_t asked_by = k_no_loop;  // the worker's loop whose MATCH is in flight (people)
    bool match_in_flight = false;
    std::int64_t match_sent_ns = 0;
    std::uint64_t matches_sent = 0;  // interest matchers: whose tags the next MATCH names
    bool waiting = false;            // answered 13: in the pool until a NewSession comes
    bool claimed_early = false;      // taken from the pool before our 13 answer arrived
    bool match_again = false;        // waiter: its partner left while its MATCH was in flight
    std::unordered_map<std::int64_t, std::int64_t> leaves_pending;  // session -> sent ns
    std::vector<std::pair<std::int64_t, std::int64_t>> matches;     // (session, partner), code 0
    std::vector<std::int64_t> new_session_signals;                  // sessions from NewSession
    std::vector<std::pair<std::int64_t, std::int64_t>> leaves;      // (session, partner), code 0
    std::vector<std::int64_t> partner_exit_signals;                 // sessions from PartnerExit
};

}  // namespace chat::bench
