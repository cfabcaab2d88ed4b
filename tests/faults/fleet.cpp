#include "tests/faults/fleet.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

#include "tests/support/frame_fields.hpp"
#include "tests/support/run_on.hpp"

namespace chat::faults {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;
using test::code_of;
using test::int_field;

namespace {

constexpr auto k_tick = 20ms;
constexpr auto k_rematch_interval = 2s;

}  // namespace

// All client state lives on the I/O thread; the public methods post to it and wait.
struct fleet::impl {
    struct connection {
        explicit connection(asio::io_context& ioc) : ws(ioc) {}
        websocket::stream<beast::tcp_stream> ws;
        beast::flat_buffer buffer;
        std::deque<std::string> out;
        bool writing = false;
        bool open = false;
        int broker = 0;
    };

    enum class phase { idle, connecting, logging_in, ready, dead };

    struct pending_message {
        std::size_t index;  // in the ledger
        std::string request_id;
        std::int64_t session;
        std::string content;
        steady::time_point due;  // when to send (again)
        bool sent_on_this_connection = false;
    };

    struct session_state {
        std::int64_t partner = 0;
        bool open = true;
        std::int64_t highest_shown = 0;
        std::int64_t acked_up_to = 0;  // the msgId of our last ACK frame
        int unacked = 0;
    };

    struct client {
        int index = 0;
        std::int64_t account = 0;
        std::string token;
        phase ph = phase::idle;
        std::shared_ptr<connection> conn;
        int broker = 0;
        int failed_attempts = 0;
        steady::time_point reconnect_at{};
        steady::time_point phase_deadline{};
        steady::time_point login_retry_at{};
        bool login_sent = false;
        steady::time_point last_rx{};
        steady::time_point next_send_at{};
        steady::time_point next_ack_at{};
        steady::time_point next_match_at{};
        bool match_in_flight = false;
        std::map<std::uint64_t, pending_message> pending;  // by order of creation
        std::unordered_map<std::string, std::uint64_t> pending_by_rid;
        std::uint64_t next_order = 0;
        std::map<std::int64_t, session_state> sessions;
        std::size_t round_robin = 0;
        steady::time_point last_acked_first_sent{};
        steady::time_point last_shown_first_sent{};
        int logins = 0;
        int last_match_code = -1;
        std::string last_drop;
        std::shared_ptr<std::promise<int>> match_waiter;
    };

    impl(fleet_options o, ledger& b) : options(std::move(o)), book(b), timer(ioc) {
        if (options.broker_ports.empty()) throw std::invalid_argument("fleet: no brokers");
        clients.resize(static_cast<std::size_t>(options.clients));
        for (int i = 0; i < options.clients; ++i) {
            clients[i].index = i;
            clients[i].broker = i % static_cast<int>(options.broker_ports.size());
        }
        send_interval = std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(1.0 / options.rate));
        thread = std::thread([this] { ioc.run(); });
    }

    ~impl() { shutdown(); }

    void shutdown() {
        if (!thread.joinable()) return;
        run_sync([this] {
            stopping = true;
            timer.cancel();
            for (auto& c : clients) drop(c, "stopped", false);
        });
        work.reset();
        ioc.stop();
        thread.join();
    }

    template <class F>
    auto run_sync(F&& f) -> decltype(f()) {
        return test::run_on(ioc, std::forward<F>(f));
    }

    // ------------------------------------------------------------------ connections

    void connect(client& c) {
        auto conn = std::make_shared<connection>(ioc);
        conn->broker = c.broker;
        c.conn = conn;
        c.ph = phase::connecting;
        c.login_sent = false;
        c.phase_deadline = steady::now() + options.login_timeout;
        auto port = options.broker_ports[static_cast<std::size_t>(c.broker)];
        beast::get_lowest_layer(conn->ws).expires_after(options.login_timeout);
        beast::get_lowest_layer(conn->ws).async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
            [this, &c, conn, port](beast::error_code ec) {
                if (c.conn != conn) return;
                if (ec) return drop(c, "connect: " + ec.message(), true);
                beast::get_lowest_layer(conn->ws).socket().set_option(tcp::no_delay(true));
                beast::get_lowest_layer(conn->ws).expires_never();
                websocket::stream_base::timeout t{};
                t.handshake_timeout = options.login_timeout;
                t.idle_timeout = websocket::stream_base::none();
                t.keep_alive_pings = false;
                conn->ws.set_option(t);
                conn->ws.auto_fragment(false);
                conn->ws.async_handshake("127.0.0.1:" + std::to_string(port), "/ws",
                                         [this, &c, conn](beast::error_code ec) {
                                             if (c.conn != conn) return;
                                             if (ec)
                                                 return drop(c, "handshake: " + ec.message(), true);
                                             conn->open = true;
                                             c.last_rx = steady::now();
                                             c.ph = phase::logging_in;
                                             read(c, conn);
                                             login(c);
                                         });
            });
    }

    void read(client& c, const std::shared_ptr<connection>& conn) {
        conn->ws.async_read(conn->buffer, [this, &c, conn](beast::error_code ec, std::size_t) {
            if (c.conn != conn) return;
            if (ec) {
                std::string why = "read: " + ec.message();
                auto reason = conn->ws.reason();
                if (reason.code != websocket::close_code::none) {
                    auto code = static_cast<int>(reason.code);
                    ++counters["close " + std::to_string(code)];
                    why = "closed by the broker with " + std::to_string(code) + " " +
                          std::string(reason.reason.c_str());
                }
                return drop(c, why, true);
            }
            std::string text = beast::buffers_to_string(conn->buffer.data());
            conn->buffer.consume(conn->buffer.size());
            c.last_rx = steady::now();
            json frame = json::parse(text, nullptr, false);
            if (frame.is_discarded() || !frame.is_object()) {
                ++counters["frame not JSON"];
            } else {
                on_frame(c, frame);
            }
            if (c.conn == conn) read(c, conn);
        });
    }

    void send(client& c, const json& frame) {
        auto& conn = c.conn;
        if (!conn || !conn->open) return;
        conn->out.push_back(frame.dump());
        if (!conn->writing) write_next(c, conn);
    }

    void write_next(client& c, const std::shared_ptr<connection>& conn) {
        if (conn->out.empty()) {
            conn->writing = false;
            return;
        }
        conn->writing = true;
        conn->ws.text(true);
        conn->ws.async_write(asio::buffer(conn->out.front()),
                             [this, &c, conn](beast::error_code ec, std::size_t) {
                                 if (c.conn != conn) return;
                                 if (ec) return drop(c, "write: " + ec.message(), true);
                                 conn->out.pop_front();
                                 write_next(c, conn);
                             });
    }

    // Ends the client's connection; with `again`, schedules the next attempt (to the
    // next broker) after a backoff.
    void drop(client& c, const std::string& why, bool again) {
        if (c.conn) {
            beast::error_code ignored;
            beast::get_lowest_layer(c.conn->ws)
                .socket()
                .shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(c.conn->ws).socket().close(ignored);
            c.conn.reset();
        }
        if (c.ph == phase::dead) return;
        if (c.ph == phase::ready) ++counters["connections lost"];
        c.last_drop = why;
        c.match_in_flight = false;
        for (auto& [order, p] : c.pending) p.sent_on_this_connection = false;
        if (!again || stopping) {
            c.ph = phase::idle;
            return;
        }
        c.ph = phase::idle;
        ++c.failed_attempts;
        auto base = std::min<std::int64_t>(2000, 100LL << std::min(c.failed_attempts - 1, 5));
        std::uniform_int_distribution<std::int64_t> jitter(base / 2, base);
        c.reconnect_at = steady::now() + std::chrono::milliseconds(jitter(random));
        // Its broker may be gone: the next attempt goes to the next one.
        c.broker = (c.broker + 1) % static_cast<int>(options.broker_ports.size());
    }

    // ------------------------------------------------------------------ protocol

    void login(client& c) {
        c.login_sent = true;
        c.phase_deadline = steady::now() + options.login_timeout;
        if (c.account == 0) {
            send(c, {{"cmd", "CRT_ACCOUNT"}, {"nickName", "f" + std::to_string(c.index)}});
        } else {
            send(c, {{"cmd", "RECONNECT"}, {"accountId", c.account}, {"token", c.token}});
        }
    }

    void logged_in(client& c) {
        c.ph = phase::ready;
        c.failed_attempts = 0;
        ++c.logins;
        auto now = steady::now();
        // Everything unanswered goes out again, in the order it was written.
        for (auto& [order, p] : c.pending) p.due = now;
        if (c.next_send_at < now) c.next_send_at = now + send_interval;
    }

    void on_frame(client& c, const json& frame) {
        auto cmd = frame.value("cmd", std::string());
        if (cmd == "PING") {
            send(c, {{"cmd", "PONG"}, {"accountId", c.account}});
        } else if (cmd == "PUSH_DIALOGUE") {
            on_push(c, frame);
        } else if (cmd == "DIALOGUE") {
            on_dialogue(c, frame);
        } else if (cmd == "PUSH_SIGNAL") {
            on_signal(c, frame);
        } else if (cmd == "CRT_ACCOUNT" || cmd == "RECONNECT") {
            on_login_answer(c, cmd, frame);
        } else if (cmd == "MATCH") {
            on_match(c, frame);
        } else if (cmd == "ACK") {
            int code = code_of(frame);
            ++counters["ACK code " + std::to_string(code)];
            if (code == 7) acks_unsupported = true;
        } else if (cmd == "PUSH_VIEWED_ACK" || cmd == "PONG") {
        } else {
            ++counters["unexpected " + cmd + " code " + std::to_string(code_of(frame))];
        }
    }

    void on_login_answer(client& c, const std::string& cmd, const json& frame) {
        int code = code_of(frame);
        if (code != 0) ++counters[cmd + " code " + std::to_string(code)];
        if (c.ph != phase::logging_in) return;
        if (code == 0) {
            if (cmd == "CRT_ACCOUNT") {
                c.account = int_field(frame, "accountId");
                c.token = frame.value("token", std::string());
            } else {
                // Sessions that ended while it was away are over; new ones it missed begin.
                std::map<std::int64_t, std::int64_t> listed;
                if (auto it = frame.find("sessions"); it != frame.end() && it->is_array()) {
                    for (auto& s : *it)
                        listed[int_field(s, "sessionId")] = int_field(s, "partnerId");
                }
                for (auto& [id, s] : c.sessions) {
                    if (s.open && !listed.count(id)) {
                        s.open = false;
                        ++counters["session gone after RECONNECT"];
                    }
                }
                for (auto& [id, partner] : listed) {
                    auto& s = c.sessions[id];
                    if (!s.open) ++counters["session reopened by RECONNECT"];
                    s.open = true;
                    s.partner = partner;
                }
            }
            logged_in(c);
        } else if (code == 2 || code == 12) {
            c.login_retry_at = steady::now() + options.retry_delay * 2;
            c.login_sent = false;
        } else if (code == 9) {
            c.ph = phase::dead;  // drop() only closes the socket of a dead client
            c.last_drop = "RECONNECT refused with code 9 (bad token)";
            drop(c, c.last_drop, false);
        } else {
            drop(c, cmd + " answered " + std::to_string(code), true);
        }
    }

    void on_match(client& c, const json& frame) {
        int code = code_of(frame);
        c.match_in_flight = false;
        c.last_match_code = code;
        ++counters["MATCH code " + std::to_string(code)];
        if (code == 0) {
            auto& s = c.sessions[int_field(frame, "sessionId")];
            s.open = true;
            s.partner = int_field(frame, "partnerId");
        }
        if (c.match_waiter) {
            c.match_waiter->set_value(code);
            c.match_waiter.reset();
        }
    }

    void on_signal(client& c, const json& frame) {
        auto type = frame.value("signalType", std::string());
        ++counters["signal " + type];
        std::int64_t session = int_field(frame, "sessionId");
        if (type == "NewSession") {
            auto& s = c.sessions[session];
            s.open = true;
            if (auto d = frame.find("data"); d != frame.end() && d->is_object())
                s.partner = int_field(*d, "accountId");
        } else if (type == "PartnerExit") {
            c.sessions[session].open = false;
        }
    }

    void on_push(client& c, const json& frame) {
        std::int64_t session = int_field(frame, "sessionId");
        std::int64_t msg_id = int_field(frame, "msgId");
        auto result = book.pushed(c.index, c.account, session, msg_id, int_field(frame, "senderId"),
                                  frame.value("content", std::string()));
        auto& s = c.sessions[session];
        if (!result.fresh) return;
        if (result.first_sent && *result.first_sent > c.last_shown_first_sent)
            c.last_shown_first_sent = *result.first_sent;
        if (msg_id > s.highest_shown) s.highest_shown = msg_id;
        if (++s.unacked >= options.ack_every) send_ack(c, session, s);
    }

    void send_ack(client& c, std::int64_t session, session_state& s) {
        s.unacked = 0;
        if (acks_unsupported || s.highest_shown <= s.acked_up_to) return;
        s.acked_up_to = s.highest_shown;
        send(c, {{"cmd", "ACK"}, {"sessionId", session}, {"msgId", s.highest_shown}});
    }

    void on_dialogue(client& c, const json& frame) {
        int code = code_of(frame);
        ++counters["DIALOGUE code " + std::to_string(code)];
        auto rid_it = frame.find("requestId");
        if (rid_it == frame.end() || !rid_it->is_string()) {
            ++counters["DIALOGUE answer without requestId"];
            return;
        }
        auto rid = rid_it->get<std::string>();
        auto pending = c.pending_by_rid.find(rid);
        if (code == 0) {
            auto index = pending != c.pending_by_rid.end()
                             ? std::optional(c.pending.at(pending->second).index)
                             : book.find(rid);
            if (!index) {
                ++counters["DIALOGUE answer for an unknown requestId"];
                return;
            }
            book.acknowledged(*index, int_field(frame, "sessionId"), int_field(frame, "msgId"));
            if (pending == c.pending_by_rid.end()) return;  // a late answer to a resend
            auto& p = c.pending.at(pending->second);
            c.last_acked_first_sent = std::max(c.last_acked_first_sent, p_first_sent(p));
            c.pending.erase(pending->second);
            c.pending_by_rid.erase(pending);
            return;
        }
        if (pending == c.pending_by_rid.end()) return;
        auto& p = c.pending.at(pending->second);
        if (code == 2 || code == 12 || code == 6) {
            std::uniform_int_distribution<int> jitter(
                0, static_cast<int>(options.retry_delay.count()));
            p.due = steady::now() + options.retry_delay + std::chrono::milliseconds(jitter(random));
            return;
        }
        // A final answer: 8 means the session is over; anything else is a test bug.
        if (code == 8) {
            c.sessions[p.session].open = false;
        } else {
            ++counters["DIALOGUE final error " + std::to_string(code) + ": " +
                       frame.value("msg", std::string())];
        }
        book.rejected(p.index, code);
        c.pending.erase(pending->second);
        c.pending_by_rid.erase(pending);
    }

    steady::time_point p_first_sent(const pending_message& p) const {
        auto it = first_sent.find(p.index);
        return it == first_sent.end() ? steady::time_point{} : it->second;
    }

    void new_message(client& c, steady::time_point now) {
        std::vector<std::int64_t> open;
        for (auto& [id, s] : c.sessions)
            if (s.open) open.push_back(id);
        if (open.empty()) return;
        if (c.pending.size() >= options.max_pending) {
            ++counters["new message held back (too many unanswered)"];
            return;
        }
        std::int64_t session = open[c.round_robin++ % open.size()];
        auto index = book.create(c.index, c.account, session);
        first_sent[index] = now;
        pending_message p{index, book.request_id(index), session, book.content(index), now, false};
        auto order = c.next_order++;
        c.pending_by_rid[p.request_id] = order;
        c.pending.emplace(order, std::move(p));
        transmit(c, c.pending.at(order), now, false);
    }

    void transmit(client& c, pending_message& p, steady::time_point now, bool resend) {
        if (resend) book.resent(p.index);
        p.due = now + options.resend_timeout;
        p.sent_on_this_connection = true;
        send(c, {{"cmd", "DIALOGUE"},
                 {"requestId", p.request_id},
                 {"senderId", c.account},
                 {"sessionId", p.session},
                 {"content", p.content}});
    }

    // ------------------------------------------------------------------ the clock

    void schedule_tick() {
        timer.expires_after(k_tick);
        timer.async_wait([this](beast::error_code ec) {
            if (ec || stopping) return;
            auto now = steady::now();
            for (auto& c : clients) tick(c, now);
            schedule_tick();
        });
    }

    void tick(client& c, steady::time_point now) {
        switch (c.ph) {
            case phase::dead:
                return;
            case phase::idle:
                if (started && now >= c.reconnect_at) connect(c);
                return;
            case phase::connecting:
                if (now > c.phase_deadline) drop(c, "connect timed out", true);
                return;
            case phase::logging_in:
                if (!c.login_sent && c.conn && c.conn->open && now >= c.login_retry_at) login(c);
                if (now > c.phase_deadline) drop(c, "no answer to login", true);
                return;
            case phase::ready:
                break;
        }
        if (now - c.last_rx > options.silence_timeout) return drop(c, "broker silent", true);
        if (traffic && now >= c.next_send_at) {
            c.next_send_at += send_interval;
            if (c.next_send_at < now) c.next_send_at = now + send_interval;
            new_message(c, now);
        }
        for (auto& [order, p] : c.pending) {
            if (p.due <= now) transmit(c, p, now, true);
        }
        if (now >= c.next_ack_at) {
            c.next_ack_at = now + options.ack_interval;
            for (auto& [id, s] : c.sessions) send_ack(c, id, s);
        }
        if (auto_match && !c.match_in_flight && now >= c.next_match_at) {
            bool any_open = false;
            for (auto& [id, s] : c.sessions) any_open |= s.open;
            if (!any_open) {
                c.match_in_flight = true;
                c.next_match_at = now + k_rematch_interval;
                send(c, {{"cmd", "MATCH"}, {"accountId", c.account}});
            }
        }
    }

    fleet_options options;
    ledger& book;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    asio::steady_timer timer;
    std::vector<client> clients;
    steady::duration send_interval{};
    std::unordered_map<std::size_t, steady::time_point> first_sent;  // ledger index -> time
    std::map<std::string, std::uint64_t> counters;
    std::mt19937_64 random{std::random_device{}()};
    bool started = false;
    bool stopping = false;
    bool traffic = false;
    bool auto_match = false;
    bool acks_unsupported = false;
    std::thread thread;
};

fleet::fleet(fleet_options options, ledger& book)
    : impl_(std::make_unique<impl>(std::move(options), book)) {}

fleet::~fleet() = default;

void fleet::start(std::chrono::milliseconds timeout) {
    impl_->run_sync([this] {
        impl_->started = true;
        auto now = steady::now();
        // Spread the first connections a little, as real clients arrive.
        for (auto& c : impl_->clients)
            c.reconnect_at = now + std::chrono::milliseconds(5 * c.index);
        impl_->schedule_tick();
    });
    auto deadline = steady::now() + timeout;
    while (true) {
        auto all = status();
        std::size_t ready = 0;
        for (auto& c : all) ready += c.ready;
        if (ready == all.size()) return;
        if (steady::now() >= deadline) {
            std::string why;
            for (auto& c : all)
                if (!c.ready) why += "\n  client c" + std::to_string(c.index) + ": " + c.last_drop;
            throw std::runtime_error(std::to_string(all.size() - ready) + " of " +
                                     std::to_string(all.size()) + " clients did not log in:" + why);
        }
        std::this_thread::sleep_for(50ms);
    }
}

std::size_t fleet::match_all(std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < impl_->clients.size(); ++i) {
            auto waiter = impl_->run_sync([this, i]() -> std::shared_ptr<std::promise<int>> {
                auto& c = impl_->clients[i];
                for (auto& [id, s] : c.sessions)
                    if (s.open) return nullptr;
                if (c.ph != impl::phase::ready) return nullptr;
                auto p = std::make_shared<std::promise<int>>();
                c.match_waiter = p;
                c.match_in_flight = true;
                impl_->send(c, {{"cmd", "MATCH"}, {"accountId", c.account}});
                return p;
            });
            if (!waiter) continue;
            auto left = deadline - steady::now();
            if (left <= steady::duration::zero() ||
                waiter->get_future().wait_for(left) != std::future_status::ready) {
                throw std::runtime_error("MATCH was not answered in time");
            }
            // Let the partner's NewSession push arrive before its own turn.
            std::this_thread::sleep_for(30ms);
        }
    }
    std::size_t sessions = 0;
    impl_->run_sync([&] {
        std::set<std::int64_t> ids;
        for (auto& c : impl_->clients)
            for (auto& [id, s] : c.sessions)
                if (s.open) ids.insert(id);
        sessions = ids.size();
    });
    return sessions;
}

void fleet::set_traffic(bool on) {
    impl_->run_sync([&] {
        impl_->traffic = on;
        auto now = steady::now();
        std::uniform_int_distribution<std::int64_t> spread(
            0, std::chrono::duration_cast<std::chrono::microseconds>(impl_->send_interval).count());
        for (auto& c : impl_->clients)
            c.next_send_at = now + std::chrono::microseconds(spread(impl_->random));
    });
}

void fleet::set_auto_match(bool on) {
    impl_->run_sync([&] { impl_->auto_match = on; });
}

std::vector<client_status> fleet::status() {
    return impl_->run_sync([this] {
        std::vector<client_status> all;
        for (auto& c : impl_->clients) {
            client_status s;
            s.index = c.index;
            s.account = c.account;
            s.broker = c.conn ? c.conn->broker : -1;
            s.ready = c.ph == impl::phase::ready;
            s.dead = c.ph == impl::phase::dead;
            for (auto& [id, session] : c.sessions) s.open_sessions += session.open;
            s.pending = c.pending.size();
            s.last_acked_first_sent = c.last_acked_first_sent;
            s.last_shown_first_sent = c.last_shown_first_sent;
            s.logins = c.logins;
            s.last_match_code = c.last_match_code;
            s.last_drop = c.last_drop;
            all.push_back(s);
        }
        return all;
    });
}

fleet_stats fleet::stats() {
    return impl_->run_sync([this] {
        fleet_stats s;
        s.counters = impl_->counters;
        if (impl_->acks_unsupported) s.counters["ACK unsupported (code 7): ACKs stopped"] = 1;
        return s;
    });
}

void fleet::stop() { impl_->shutdown(); }

}  // namespace chat::faults
