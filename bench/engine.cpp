// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace chat::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto k_poll = 20ms;                  // how often the main thread looks at progress
constexpr auto k_late_duplicate_wait = 500ms;  // after the drain, for late duplicates

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}

steady::time_point from_ns(std::int64_t ns) {
    return steady::time_point(std::chrono::nanoseconds(ns));
}

std::int64_t seconds_to_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

std::int64_t int_field(const json& frame, const char* name) {
    auto it = frame.find(name);
    return it != frame.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

int code_of(const json& frame) {
    auto it = frame.find("code");
    return it != frame.end() && it->is_number_integer() ? it->get<int>() : -1;
}

void append_number(std::string& out, std::int64_t value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;
    out.append(digits, end);
}

// The send time embedded in our content: "t=<ns>;..."; 0 when absent.
std::int64_t timestamp_of(std::string_view content) {
    if (content.size() < 3 || content.substr(0, 2) != "t=") return 0;
    std::int64_t t = 0;
    auto [end, ec] = std::from_chars(content.data() + 2, content.data() + content.size(), t);
    (void)end;
    return ec == std::errc{} ? t : 0;
}

}  // namespace

// ------------------------------------------------------------------------------------
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
    std::atomic<std::uint64_t> dropped{0};
};

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
    void on_match_reply(const json& f);
    void on_signal(const json& f);

    session_side& session(std::int64_t id, std::int64_t partner);
    void send_match();
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

    bool match_loop = false;  // MATCH again as soon as the answer arrives
    bool match_in_flight = false;
    std::int64_t match_sent_ns = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> matches;  // (session, partner), code 0
    std::vector<std::int64_t> new_session_signals;               // sessions from NewSession
};

struct engine_impl {
    explicit engine_impl(const options& o);
    ~engine_impl();

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
    std::vector<std::unique_ptr<worker>> workers;
};

struct worker {
    worker(engine_impl& e, int id) : eng(e), id(id), pacer(ioc), ack_timer(ioc) {
        thread = std::thread([this] { ioc.run(); });
    }
    ~worker() {
        work.reset();
        ioc.stop();
        if (thread.joinable()) thread.join();
    }

    template <class F>
    auto run_sync(F&& f) -> decltype(f()) {
        using result = decltype(f());
        std::packaged_task<result()> task(std::forward<F>(f));
        auto future = task.get_future();
        asio::post(ioc, [&task] { task(); });
        return future.get();
    }

    void event(const std::string& what) { ++events[what]; }

    // Opening clients with a bounded number in progress.
    void start_logins() {
        while (logins_in_flight < login_limit && !login_queue.empty()) {
            auto c = login_queue.front();
            login_queue.pop_front();
            ++logins_in_flight;
            c->open();
        }
    }
    void login_finished(bool ok, const std::string& why) {
        --logins_in_flight;
        if (ok) {
            live.logged_in.fetch_add(1, std::memory_order_relaxed);
        } else {
            ++login_failures[why];
            live.login_failed.fetch_add(1, std::memory_order_relaxed);
        }
        start_logins();
    }

    void schedule_ack_flush() {
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

    // Open loop: message k of this worker is due at pace_start + k / rate and goes to
    // slot k mod |slots|, so every (client, session) pair sends at the same pace.
    void pace() {
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

    engine_impl& eng;
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

    // read by the main thread only through run_sync
    histogram login_latency, ack_latency, delivery_latency, match_latency;
    std::map<std::string, std::uint64_t> login_failures;
    event_counts events;
    std::uint64_t errors = 0, not_sent = 0, unanswered_on_drop = 0;
    std::uint64_t window_sent = 0, window_acked = 0, window_delivered = 0;
    std::uint64_t window_match_answered = 0, window_matched = 0;

    live_counters live;
    std::thread thread;  // last: starts once everything above exists
};

// ------------------------------------------------------------------------------------
// connection

connection::connection(worker& w_, std::size_t index_, std::size_t broker_)
    : w(w_), index(index_), broker(broker_), ws(w_.ioc) {}

void connection::open() {
    st = state::opening;
    login_started_ns = now_ns();
    auto& stream = beast::get_lowest_layer(ws);
    stream.expires_after(w.eng.request_timeout);
    stream.async_connect(
        w.eng.endpoints[broker],
        [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
}

void connection::on_connect(beast::error_code ec) {
    if (st == state::dead) return;
    if (ec) return fail("connect: " + ec.message());
    auto& stream = beast::get_lowest_layer(ws);
    stream.socket().set_option(tcp::no_delay(true), ec);
    stream.expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = w.eng.request_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.auto_fragment(false);
    ws.async_handshake(
        w.eng.host_headers[broker], "/ws",
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
}

void connection::on_handshake(beast::error_code ec) {
    if (st == state::dead) return;
    if (ec) return fail("handshake: " + ec.message());
    st = state::logging_in;
    do_read();
    std::string frame = R"({"cmd":"CRT_ACCOUNT","nickName":")";
    frame += w.eng.opts.nick;
    append_number(frame, static_cast<std::int64_t>(index));
    frame += "\"}";
    send(std::move(frame));
}

void connection::do_read() {
    ws.async_read(read_buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_read(ec);
    });
}

void connection::on_read(beast::error_code ec) {
    if (st == state::dead) return;
    if (ec) {
        std::string why = "read: " + ec.message();
        auto reason = ws.reason();
        if (reason.code != websocket::close_code::none) {
            why = "closed by the broker with " + std::to_string(static_cast<int>(reason.code)) +
                  " " + std::string(reason.reason.c_str());
        }
        return fail(why);
    }
    auto data = read_buffer.data();
    on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
    read_buffer.consume(read_buffer.size());
    if (st != state::dead) do_read();
}

void connection::send(std::string frame) {
    if (st == state::dead) return;
    write_queue.push_back(std::move(frame));
    if (!writing) do_write();
}

void connection::do_write() {
    writing = true;
    ws.text(true);
    ws.async_write(asio::buffer(write_queue.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->write_queue.pop_front();
                       if (ec) {
                           self->writing = false;
                           return self->fail("write: " + ec.message());
                       }
                       if (self->write_queue.empty() || self->st == state::dead) {
                           self->writing = false;
                       } else {
                           self->do_write();
                       }
                   });
}

void connection::fail(const std::string& reason) {
    if (st == state::dead) return;
    const bool was_login = !login_reported;
    st = state::dead;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    if (was_login) {
        login_reported = true;
        w.login_finished(false, reason);
        return;
    }
    if (w.closing) return;
    w.live.dropped.fetch_add(1, std::memory_order_relaxed);
    w.event("connection dropped: " + reason);
    w.unanswered_on_drop += pending.size();
    w.live.outstanding.fetch_sub(static_cast<std::int64_t>(pending.size()),
                                 std::memory_order_relaxed);
    pending.clear();
    if (match_in_flight) {
        match_in_flight = false;
        w.live.match_outstanding.fetch_sub(1, std::memory_order_relaxed);
    }
}

void connection::close() {
    if (st == state::dead || st == state::fresh) return;
    const bool handshake_done = st == state::logging_in || st == state::ready;
    st = state::dead;
    beast::error_code ignored;
    // Beast allows no close while a write is in flight: cut the socket instead.
    if (!handshake_done || writing) {
        beast::get_lowest_layer(ws).socket().close(ignored);
        return;
    }
    ws.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws).socket().close(ignored);
    });
}

void connection::on_frame(std::string_view text) {
    json f = json::parse(text.begin(), text.end(), nullptr, false);
    if (f.is_discarded() || !f.is_object()) return w.event("frame not JSON");
    auto cmd_it = f.find("cmd");
    if (cmd_it == f.end() || !cmd_it->is_string()) return w.event("frame without cmd");
    const auto& cmd = cmd_it->get_ref<const std::string&>();
    if (cmd == "PUSH_DIALOGUE") {
        on_push(f);
    } else if (cmd == "DIALOGUE") {
        on_dialogue_reply(f);
    } else if (cmd == "PING") {
        std::string pong = R"({"cmd":"PONG","accountId":)";
        append_number(pong, account);
        pong += '}';
        send(std::move(pong));
    } else if (cmd == "MATCH") {
        on_match_reply(f);
    } else if (cmd == "PUSH_SIGNAL") {
        on_signal(f);
    } else if (cmd == "CRT_ACCOUNT") {
        on_login_reply(f);
    } else if (cmd == "PUSH_VIEWED_ACK" || cmd == "PONG") {
        // not ours to measure
    } else {
        w.event(cmd + " code " + std::to_string(code_of(f)));
    }
}

void connection::on_login_reply(const json& f) {
    if (login_reported) return w.event("CRT_ACCOUNT answer after login");
    login_reported = true;
    int code = code_of(f);
    if (code != 0) {
        std::string why = "CRT_ACCOUNT code " + std::to_string(code);
        auto msg = f.find("msg");
        if (msg != f.end() && msg->is_string()) why += " (" + msg->get<std::string>() + ")";
        st = state::dead;
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
        return w.login_finished(false, why);
    }
    account = int_field(f, "accountId");
    st = state::ready;
    w.login_latency.record(static_cast<std::uint64_t>(now_ns() - login_started_ns));
    w.login_finished(true, {});
}

session_side& connection::session(std::int64_t id, std::int64_t partner) {
    auto [it, fresh] = sessions.try_emplace(id);
    if (fresh) {
        it->second.id = id;
        it->second.partner = partner;
        it->second.bench_partner = w.eng.is_bench_account(partner);
    }
    return it->second;
}

void connection::send_dialogue(std::int64_t session_id, std::int64_t due_ns) {
    const std::uint64_t seq = next_seq++;
    std::string content = "t=";
    append_number(content, due_ns);
    content += ";c=";
    append_number(content, static_cast<std::int64_t>(index));
    content += ";s=";
    append_number(content, static_cast<std::int64_t>(seq));
    content += ';';
    if (content.size() < w.eng.opts.payload)
        content.append(w.eng.opts.payload - content.size(), 'x');

    std::string frame;
    frame.reserve(content.size() + 120);
    frame += R"({"cmd":"DIALOGUE","requestId":)";
    append_number(frame, static_cast<std::int64_t>(seq));
    frame += R"(,"senderId":)";
    append_number(frame, account);
    frame += R"(,"sessionId":)";
    append_number(frame, session_id);
    frame += R"(,"content":")";
    frame += content;
    frame += "\"}";

    pending.emplace(seq, pending_dialogue{session_id, due_ns});
    w.live.outstanding.fetch_add(1, std::memory_order_relaxed);
    w.live.sent.fetch_add(1, std::memory_order_relaxed);
    if (w.eng.clock.in_window(due_ns)) ++w.window_sent;
    send(std::move(frame));
}

bool connection::send_next(std::int64_t due_ns) {
    if (rotation.empty() || st != state::ready) return false;
    auto id = rotation[next_in_rotation++ % rotation.size()];
    send_dialogue(id, due_ns);
    return true;
}

void connection::on_dialogue_reply(const json& f) {
    auto rid = f.find("requestId");
    if (rid == f.end() || !rid->is_number_unsigned())
        return w.event("DIALOGUE answer without our requestId");
    auto it = pending.find(rid->get<std::uint64_t>());
    if (it == pending.end()) return w.event("DIALOGUE answer for an unknown requestId");
    const std::uint64_t seq = it->first;
    const pending_dialogue p = it->second;
    pending.erase(it);
    w.live.outstanding.fetch_sub(1, std::memory_order_relaxed);
    w.live.answered.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t now = now_ns();
    const int code = code_of(f);
    if (code == 0) {
        auto s = sessions.find(p.session);
        if (s != sessions.end()) s->second.acked.emplace_back(seq, int_field(f, "msgId"));
        w.live.acked.fetch_add(1, std::memory_order_relaxed);
        if (w.eng.clock.in_window(p.sent_ns)) {
            w.ack_latency.record(static_cast<std::uint64_t>(now - p.sent_ns));
            ++w.window_acked;
        }
    } else {
        ++w.errors;
        w.event("DIALOGUE code " + std::to_string(code));
        if (code == 8) close_session(p.session);
    }
    if (w.eng.closed_loop && w.eng.clock.sending(now)) send_next(now);
}

void connection::close_session(std::int64_t id) {
    auto s = sessions.find(id);
    if (s != sessions.end()) s->second.open = false;
    rotation.erase(std::remove(rotation.begin(), rotation.end(), id), rotation.end());
}

void connection::on_push(const json& f) {
    const std::int64_t now = now_ns();
    const std::int64_t session_id = int_field(f, "sessionId");
    const std::int64_t msg_id = int_field(f, "msgId");
    session_side& s = session(session_id, int_field(f, "senderId"));
    s.received.push_back(msg_id);
    w.live.deliveries.fetch_add(1, std::memory_order_relaxed);
    auto content = f.find("content");
    if (content != f.end() && content->is_string()) {
        std::int64_t sent = timestamp_of(content->get_ref<const std::string&>());
        if (sent > 0 && w.eng.clock.in_window(sent)) {
            w.delivery_latency.record(
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - sent)));
            ++w.window_delivered;
        }
    }
    if (msg_id > s.highest_received) s.highest_received = msg_id;
    if (++s.unacked >= w.eng.opts.ack_every) {
        send_ack(s);
    } else if (!s.ack_dirty) {
        s.ack_dirty = true;
        if (dirty_sessions.empty()) w.dirty_connections.push_back(this);
        dirty_sessions.push_back(session_id);
    }
}

void connection::send_ack(session_side& s) {
    s.unacked = 0;
    s.ack_dirty = false;
    if (s.highest_received <= s.ack_sent) return;
    s.ack_sent = s.highest_received;
    std::string frame = R"({"cmd":"ACK","sessionId":)";
    append_number(frame, s.id);
    frame += R"(,"msgId":)";
    append_number(frame, s.highest_received);
    frame += '}';
    send(std::move(frame));
}

void connection::send_match() {
    if (st != state::ready) return;
    match_in_flight = true;
    match_sent_ns = now_ns();
    w.live.match_outstanding.fetch_add(1, std::memory_order_relaxed);
    std::string frame = R"({"cmd":"MATCH","accountId":)";
    append_number(frame, account);
    frame += '}';
    send(std::move(frame));
}

void connection::on_match_reply(const json& f) {
    if (!match_in_flight) return w.event("MATCH answer without a request");
    match_in_flight = false;
    const std::int64_t now = now_ns();
    w.live.match_outstanding.fetch_sub(1, std::memory_order_relaxed);
    w.live.match_answered.fetch_add(1, std::memory_order_relaxed);
    const bool in_window = w.eng.clock.in_window(match_sent_ns);
    if (in_window) {
        w.match_latency.record(static_cast<std::uint64_t>(now - match_sent_ns));
        ++w.window_match_answered;
    }
    const int code = code_of(f);
    if (code == 0) {
        const std::int64_t session_id = int_field(f, "sessionId");
        const std::int64_t partner = int_field(f, "partnerId");
        session(session_id, partner);
        matches.emplace_back(session_id, partner);
        w.live.match_ok.fetch_add(1, std::memory_order_relaxed);
        if (in_window) ++w.window_matched;
    } else {
        w.event("MATCH code " + std::to_string(code));
    }
    if (match_loop && w.eng.clock.sending(now)) send_match();
}

void connection::on_signal(const json& f) {
    auto type = f.find("signalType");
    std::string kind = type != f.end() && type->is_string() ? type->get<std::string>() : "?";
    const std::int64_t session_id = int_field(f, "sessionId");
    if (kind == "NewSession") {
        std::int64_t partner = 0;
        auto data = f.find("data");
        if (data != f.end() && data->is_object()) partner = int_field(*data, "accountId");
        session(session_id, partner);
        new_session_signals.push_back(session_id);
        w.live.new_sessions.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    w.event("PUSH_SIGNAL " + kind);
    if (kind == "PartnerExit") close_session(session_id);
}

// ------------------------------------------------------------------------------------
// engine_impl

engine_impl::engine_impl(const options& o) : opts(o) {
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

engine_impl::~engine_impl() {
    try {
        close_clients();
    } catch (...) {
    }
    workers.clear();
}

template <class F>
void engine_impl::on_every_worker(F f) {
    for (auto& w : workers) w->run_sync([&] { f(*w); });
}

std::uint64_t engine_impl::sum(std::atomic<std::uint64_t> live_counters::*field) const {
    std::uint64_t total = 0;
    for (const auto& w : workers) total += (w->live.*field).load(std::memory_order_relaxed);
    return total;
}

std::int64_t engine_impl::sum(std::atomic<std::int64_t> live_counters::*field) const {
    std::int64_t total = 0;
    for (const auto& w : workers) total += (w->live.*field).load(std::memory_order_relaxed);
    return total;
}

template <class P>
bool engine_impl::wait_until(P done, std::chrono::nanoseconds limit, const char* what,
                             bool show_progress) {
    const auto start = steady::now();
    auto next_report = start + 5s;
    while (!done()) {
        if (steady::now() - start > limit) {
            std::fprintf(stderr, "chat-bench: gave up waiting for %s after %.1f s\n", what,
                         std::chrono::duration<double>(limit).count());
            return false;
        }
        if (show_progress && steady::now() >= next_report) {
            std::fprintf(stderr, "chat-bench:   still waiting for %s (%.0f s)\n", what,
                         std::chrono::duration<double>(steady::now() - start).count());
            next_report += 5s;
        }
        std::this_thread::sleep_for(k_poll);
    }
    return true;
}

login_report engine_impl::open_clients(std::size_t count) {
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

void engine_impl::close_clients() {
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

std::uint64_t engine_impl::expected_new_sessions() {
    std::uint64_t n = 0;
    on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            for (const auto& m : c->matches) n += is_bench_account(m.second) ? 1 : 0;
        }
    });
    return n;
}

void engine_impl::merge_events(event_counts& into) {
    on_every_worker([&](worker& w) {
        for (const auto& [what, n] : w.events) into[what] += n;
        for (const auto& [why, n] : w.login_failures) into["login failed: " + why] += n;
    });
}

// Pairs the clients: every even client MATCHes (the partner is random among everyone
// online), then every client still without a session does. Sessions are learnt from
// MATCH answers and NewSession pushes, so any pairing works.
void engine_impl::pair_up(dialogue_report& report) {
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
// engine

engine::engine(const options& o) : impl_(std::make_unique<engine_impl>(o)) {}
engine::~engine() = default;

dialogue_report engine::run_dialogue() {
    auto& e = *impl_;
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
        r.delivery_latency.merge(w.delivery_latency);
        r.errors += w.errors;
        r.not_sent += w.not_sent;
        r.window_sent += w.window_sent;
        r.window_acked += w.window_acked;
        r.window_delivered += w.window_delivered;
    });
    r.sent = e.sum(&live_counters::sent);
    r.acked = e.sum(&live_counters::acked);
    r.deliveries = e.sum(&live_counters::deliveries);
    e.merge_events(r.events);
    e.close_clients();
    r.check = verify(sides);
    return r;
}

match_report engine::run_match() {
    auto& e = *impl_;
    const auto& o = e.opts;
    match_report r;
    r.login = e.open_clients(o.match_accounts);
    if (r.login.logged_in <= o.matchers)
        throw std::runtime_error("not enough clients logged in to match");

    const std::int64_t start = now_ns() + seconds_to_ns(0.05);
    e.clock.window_start = start + seconds_to_ns(o.warmup);
    e.clock.send_end = start + seconds_to_ns(o.warmup + o.duration);
    r.seconds = o.duration;
    cpu_meter meter(o.watch);

    // The matchers are clients 0..M-1 (spread over the threads by their index).
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            if (c->index < o.matchers && c->st == connection::state::ready) {
                ++r.matchers;
                c->match_loop = true;
                asio::post(w.ioc, [c] { c->send_match(); });
            }
        }
    });
    std::fprintf(stderr,
                 "chat-bench: %zu clients MATCH back to back among %zu online accounts for %.1f s "
                 "+ %.1f s\n",
                 r.matchers, r.login.logged_in, o.warmup, o.duration);
    std::this_thread::sleep_until(from_ns(e.clock.window_start));
    meter.start();
    std::uint64_t last = 0;
    while (now_ns() < e.clock.send_end) {
        std::this_thread::sleep_until(std::min(steady::now() + 1s, from_ns(e.clock.send_end)));
        auto ok = e.sum(&live_counters::match_ok);
        std::fprintf(stderr, "chat-bench:   matched %llu (%llu in the last second or so)\n",
                     static_cast<unsigned long long>(ok),
                     static_cast<unsigned long long>(ok - last));
        last = ok;
    }
    r.cpu = meter.stop();

    const auto drain_limit = std::chrono::nanoseconds(seconds_to_ns(o.drain));
    e.wait_until([&] { return e.sum(&live_counters::match_outstanding) <= 0; }, drain_limit,
                 "MATCH answers");
    const std::uint64_t expected = e.expected_new_sessions();
    e.wait_until([&] { return e.sum(&live_counters::new_sessions) >= expected; }, drain_limit,
                 "NewSession pushes");
    std::this_thread::sleep_for(k_late_duplicate_wait);

    // Every successful MATCH must have told its partner exactly once.
    std::map<std::pair<std::int64_t, std::int64_t>, int>
        told;  // (session, account) → NewSession count
    std::vector<std::pair<std::int64_t, std::int64_t>> made;  // (session, partner)
    e.on_every_worker([&](worker& w) {
        for (auto& c : w.conns) {
            for (auto s : c->new_session_signals) ++told[{s, c->account}];
            for (const auto& m : c->matches) {
                if (e.is_bench_account(m.second)) made.push_back(m);
            }
            if (c->match_in_flight) ++r.unanswered;
        }
        r.latency.merge(w.match_latency);
        r.window_answered += w.window_match_answered;
        r.window_matched += w.window_matched;
    });
    r.matched = made.size();
    for (const auto& m : made) {
        auto it = told.find(m);
        if (it == told.end()) {
            ++r.new_session_missing;
            if (r.examples.size() < 10) {
                r.examples.push_back("session " + std::to_string(m.first) + ": partner " +
                                     std::to_string(m.second) + " got no NewSession");
            }
        }
    }
    for (const auto& [key, n] : told) {
        if (n > 1) {
            r.new_session_duplicated += static_cast<std::uint64_t>(n - 1);
            if (r.examples.size() < 10) {
                r.examples.push_back("session " + std::to_string(key.first) + ": account " +
                                     std::to_string(key.second) + " got NewSession " +
                                     std::to_string(n) + " times");
            }
        }
    }
    e.merge_events(r.events);
    e.close_clients();
    return r;
}

idle_report engine::run_idle() {
    auto& e = *impl_;
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
