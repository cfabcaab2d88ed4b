#include "services/broker/src/ws_connection.hpp"

#include "shared/wire/limits.hpp"
#include "shared/wire/server_frames.hpp"

namespace chat::broker {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using wire::code;

namespace {

constexpr std::uint16_t k_close_replaced = 4001;

}  // namespace

ws_connection::ws_connection(net::ip::tcp::socket&& socket, std::shared_ptr<broker_context> ctx,
                             std::string client_address)
    : ws_(std::move(socket)),
      ctx_(std::move(ctx)),
      conn_id_(ctx_->next_conn_id()),
      conn_key_(ctx_->epoch() + "/" + std::to_string(conn_id_)),
      client_address_(std::move(client_address)),
      ping_timer_(ws_.get_executor()),
      retry_timer_(ws_.get_executor()),
      resume_timer_(ws_.get_executor()),
      restart_timer_(ws_.get_executor()),
      outbound_(ctx_->settings().max_queued_frames),
      limits_(ctx_->settings().messages_per_second, ctx_->account_messages()),
      resume_(ctx_->settings().max_queued_frames) {}

ws_connection::~ws_connection() {
    ctx_->connections().leave(conn_id_);
    if (account_id_ != 0) {
        ctx_->connections().bound().erase(account_id_, this);
        ctx_->report_offline(account_id_, conn_key_);
    }
}

void ws_connection::run(beast::http::request<beast::http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "chat-broker"); }));
    // Frames above the hard cap close the connection (1009); smaller oversized frames
    // are discarded and answered with code 11 (limits.max_frame_bytes).
    ws_.read_message_max(wire::k_hard_frame_cap_bytes);
    ws_.async_accept(request, beast::bind_front_handler(&ws_connection::on_accept, shared_from_this()));
}

void ws_connection::on_accept(beast::error_code ec) {
    if (ec) return;  // the upgrade failed; nothing to clean up
    ctx_->connections().join(conn_id_, weak_from_this());
    ctx_->recorded().connection_opened();
    counted_ = true;
    // One line per connection opened and closed (docs/operations.md, "Logs").
    ctx_->log().info("connection opened conn={} address={}", conn_key_, client_address_);
    last_heard_ = std::chrono::steady_clock::now();
    schedule_ping();
    do_read();
    // Joined after the shutdown went through the registry: close it as the others were.
    if (ctx_->stopping()) {
        restarting_ = true;
        close_for_restart();
    }
}

void ws_connection::do_read() {
    ws_.async_read_some(buffer_, 16 * 1024, beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
    if (ec) {
        if (ec != websocket::error::closed && ec != net::error::operation_aborted && ec != net::error::eof)
            ctx_->log().debug("connection {} read failed: {}", conn_key_, ec.message());
        on_gone();
        return;
    }
    last_heard_ = std::chrono::steady_clock::now();
    if (buffer_.size() > ctx_->settings().max_frame_bytes) discarding_oversized_ = true;
    if (discarding_oversized_) buffer_.consume(buffer_.size());
    if (!ws_.is_message_done()) {
        do_read();
        return;
    }
    if (discarding_oversized_) {
        discarding_oversized_ = false;
        send(wire::error_frame("ERROR", code::frame_too_large,
                               "frame is larger than " + std::to_string(ctx_->settings().max_frame_bytes) +
                                   " bytes and was discarded"));
    } else if (!ws_.got_text()) {
        send(wire::error_frame("ERROR", code::param_error, "binary frames are not supported; send JSON text"));
    } else {
        const auto data = buffer_.data();
        handle_frame({static_cast<const char*>(data.data()), data.size()});
    }
    buffer_.consume(buffer_.size());
    do_read();
}

void ws_connection::push(std::int64_t receiver_id, std::shared_ptr<const std::string> frame, session_change change) {
    net::post(ws_.get_executor(), [self = shared_from_this(), receiver_id, frame = std::move(frame), change]() mutable {
        if (self->account_id_ == receiver_id || self->holding_account_ == receiver_id)
            self->on_push(std::move(frame), change);
    });
}

void ws_connection::relay_typing(const proto::Typing& typing) {
    net::post(ws_.get_executor(), [self = shared_from_this(), typing] {
        // The sending broker vouches only for its own connection's account: whether that
        // account is this one's partner in the session is this connection's to say.
        if (self->gone_ || self->account_id_ == 0 || self->account_id_ != typing.receiver_id() ||
            !self->typing_.from_partner(typing.session_id(), typing.sender_id()))
            return;
        self->send(wire::push_typing_frame(typing));
    });
}

void ws_connection::kick(const std::string& conn_key) {
    net::post(ws_.get_executor(), [self = shared_from_this(), conn_key] {
        if (conn_key != self->conn_key_ || self->gone_) return;
        // The account lives on another connection now: leave it bound there.
        self->unbind();
        self->close_with(static_cast<websocket::close_code>(k_close_replaced), "replaced by a new connection");
    });
}

void ws_connection::shutdown() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (self->gone_ || self->restarting_) return;
        self->restarting_ = true;
        self->after(self->restart_timer_, k_restart_drain, [self] { self->close_for_restart(); });
        self->close_for_restart_when_idle();
    });
}

void ws_connection::close_for_restart() { close_with(websocket::close_code::service_restart, "broker restarting"); }

void ws_connection::close_for_restart_when_idle() {
    // A batch at logic is about to be stored: its answers save the client resending it.
    if (restarting_ && dialogues_.in_flight_count() == 0) close_for_restart();
}

void ws_connection::resume_after_bus_loss() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (!self->gone_) self->start_bus_loss_resume();
    });
}

void ws_connection::close_with(websocket::close_code close_code, const char* reason) {
    if (gone_ || closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(close_code, reason), [self = shared_from_this()](beast::error_code) {
        // The read loop sees the close and ends the connection.
    });
}

void ws_connection::send(std::string frame) { send(std::make_shared<const std::string>(std::move(frame))); }

void ws_connection::send(std::shared_ptr<const std::string> frame) {
    if (gone_) return;
    switch (outbound_.push(std::move(frame))) {
        case outbound_queue::push_result::write_now: return do_write();
        case outbound_queue::push_result::queued: return;
        case outbound_queue::push_result::too_slow:
            // Its undelivered messages wait for its RECONNECT (they are not acknowledged).
            ctx_->recorded().slow_client_dropped();
            ctx_->log().warn("connection {} (account {}, {}) is not reading its frames; dropping it", conn_key_,
                             account_id_, client_address_);
            return on_gone();
    }
}

void ws_connection::do_write() {
    outbound_.write_started();
    ws_.text(true);
    ws_.async_write(net::buffer(*outbound_.front()),
                    beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
    if (ec || gone_) {
        on_gone();
        return;
    }
    const bool more = outbound_.pop_written();
    if (resume_.on_written(outbound_.size()) == resume_next::request_page) request_resume_page();
    if (more && !outbound_.empty()) do_write();
}

void ws_connection::schedule_ping() {
    ping_timer_.expires_after(ctx_->settings().ping_interval);
    ping_timer_.async_wait(beast::bind_front_handler(&ws_connection::on_ping_timer, shared_from_this()));
}

void ws_connection::on_ping_timer(beast::error_code ec) {
    if (ec || gone_) return;
    if (std::chrono::steady_clock::now() - last_heard_ >= ctx_->settings().ping_max_wait) {
        ctx_->log().info("connection {} (account {}, {}) silent for {} ms; dropping it", conn_key_, account_id_,
                         client_address_, ctx_->settings().ping_max_wait.count());
        on_gone();
        return;
    }
    send(wire::ping_frame(account_id_));
    schedule_ping();
}

void ws_connection::on_gone() {
    if (gone_) return;
    gone_ = true;
    if (counted_) {
        ctx_->recorded().connection_closed();
        ctx_->log().info("connection closed conn={} account={} address={}", conn_key_, account_id_, client_address_);
    }
    ping_timer_.cancel();
    retry_timer_.cancel();
    resume_timer_.cancel();
    restart_timer_.cancel();
    outbound_.clear();
    resume_.drop_held();
    if (holding_account_ != 0) {
        ctx_->connections().holding().erase(holding_account_, this);
        holding_account_ = 0;
    }
    if (account_id_ != 0) {
        const auto account_id = account_id_;
        unbind();
        ctx_->report_offline(account_id, conn_key_);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

void ws_connection::bind(std::int64_t account_id) {
    ctx_->log().info("connection logged in conn={} account={}", conn_key_, account_id);
    account_id_ = account_id;
    ctx_->connections().bound().set(account_id, weak_from_this());
    typing_lease_ = ctx_->typing().listen(account_id);
}

void ws_connection::unbind() {
    // bound() only drops the entry if it is still this connection's (not a successor's).
    if (account_id_ != 0) ctx_->connections().bound().erase(account_id_, this);
    account_id_ = 0;
    typing_lease_ = {};
    typing_.clear();
}

}  // namespace chat::broker
