// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/client.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>

#include "bench/client_pool.hpp"
#include "bench/frames.hpp"

namespace chat::bench {

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
    send(login_frame(w.eng.opts.nick, index));
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
        send(pong_frame(account));
    } else if (cmd == "MATCH") {
        on_match_reply(f);
    } else if (cmd == "LEAVE") {
        on_leave_reply(f);
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
    const auto content =
        dialogue_content(due_ns, static_cast<std::int64_t>(index), seq, w.eng.opts.payload);
    std::string frame = dialogue_frame(seq, account, session_id, content);

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
        if (!w.eng.opts.ack_log_path.empty()) w.ack_log.emplace_back(p.sent_ns, now - p.sent_ns);
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

void connection::on_signal(const json& f) {
    auto type = f.find("signalType");
    std::string kind = type != f.end() && type->is_string() ? type->get<std::string>() : "?";
    const std::int64_t session_id = int_field(f, "sessionId");
    if (kind == "NewSession") return on_new_session(f, session_id);
    if (kind == "PartnerExit") return on_partner_exit(session_id);
    w.event("PUSH_SIGNAL " + kind);
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
    send(ack_frame(s.id, s.highest_received));
}

}  // namespace chat::bench
