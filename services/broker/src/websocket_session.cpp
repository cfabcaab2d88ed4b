#include "websocket_session.hpp"

#include <boost/asio/post.hpp>

#include "shared/bus/subjects.hpp"
#include "shared/wire/server_frames.hpp"
#include "shared_state.hpp"

namespace chat::broker {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace subjects = bus::subjects;
using wire::code;

namespace {

// Frames above this close the connection (1009); smaller oversized frames are discarded
// and answered with code 11 (limits.max_frame_bytes).
constexpr std::size_t k_hard_frame_cap = 16 * 1024 * 1024;
// A client this far behind on reading is disconnected instead of growing memory.
constexpr std::size_t k_max_write_queue = 8192;
constexpr int k_max_dialogue_batch = 64;
constexpr std::uint16_t k_close_replaced = 4001;

const char* describe_failure(bus::request_status status) {
    switch (status) {
        case bus::request_status::timed_out: return "the chat service did not answer in time; retry";
        case bus::request_status::no_responders: return "the chat service is not running; retry later";
        default: return "the chat service could not be reached; retry";
    }
}

}  // namespace

websocket_session::websocket_session(net::ip::tcp::socket&& socket, std::shared_ptr<shared_state> state)
    : ws_(std::move(socket)),
      state_(std::move(state)),
      conn_id_(state_->next_conn_id()),
      conn_key_(state_->epoch() + "/" + std::to_string(conn_id_)),
      ping_timer_(ws_.get_executor()) {}

websocket_session::~websocket_session() {
    state_->leave(conn_id_);
    if (account_id_ != 0) {
        state_->unbind(account_id_, this);
        state_->report_offline(account_id_, conn_key_);
    }
}

void websocket_session::run(beast::http::request<beast::http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "chat-broker"); }));
    ws_.read_message_max(k_hard_frame_cap);
    ws_.async_accept(request, beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
    if (ec) return;  // the upgrade failed; nothing to clean up
    state_->join(conn_id_, weak_from_this());
    last_heard_ = std::chrono::steady_clock::now();
    schedule_ping();
    do_read();
}

void websocket_session::do_read() {
    ws_.async_read_some(buffer_, 16 * 1024,
                        beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
    if (ec) {
        if (ec != websocket::error::closed && ec != net::error::operation_aborted && ec != net::error::eof)
            state_->log().debug("connection {} read failed: {}", conn_key_, ec.message());
        on_gone();
        return;
    }
    last_heard_ = std::chrono::steady_clock::now();
    if (buffer_.size() > state_->settings().max_frame_bytes) discarding_oversized_ = true;
    if (discarding_oversized_) buffer_.consume(buffer_.size());
    if (!ws_.is_message_done()) {
        do_read();
        return;
    }
    if (discarding_oversized_) {
        discarding_oversized_ = false;
        send(wire::error_frame("ERROR", code::frame_too_large,
                               "frame is larger than " + std::to_string(state_->settings().max_frame_bytes) +
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

void websocket_session::handle_frame(std::string_view text) {
    auto parsed = wire::parse_client_frame(text);
    if (auto* error = std::get_if<wire::frame_error>(&parsed)) {
        send(wire::error_frame(error->cmd, error->error_code, error->msg, error->request_id_echo));
        return;
    }
    handle_request(std::get<wire::client_request>(std::move(parsed)));
}

void websocket_session::handle_request(wire::client_request&& request) {
    std::visit(
        [this](auto&& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, wire::ping_request>)
                send(wire::pong_frame(account_id_));
            else if constexpr (std::is_same_v<T, wire::pong_request>)
                ;  // hearing from the client is all a PONG is for
            else if constexpr (std::is_same_v<T, wire::create_account_request>)
                on_create_account(std::move(r));
            else if constexpr (std::is_same_v<T, wire::reconnect_request>)
                on_reconnect(std::move(r));
            else if constexpr (std::is_same_v<T, wire::match_request>)
                on_match(r);
            else if constexpr (std::is_same_v<T, wire::dialogue_request>)
                on_dialogue(std::move(r));
            else if constexpr (std::is_same_v<T, wire::viewed_ack_request>)
                on_viewed_ack(r);
            else if constexpr (std::is_same_v<T, wire::logout_request>)
                on_logout(r);
        },
        std::move(request));
}

bool websocket_session::acting_as(std::string_view cmd, std::int64_t named_account, const nlohmann::json& request_id) {
    if (account_id_ == 0) {
        send(wire::error_frame(cmd, code::not_logged_in, "log in first (CRT_ACCOUNT or RECONNECT)", request_id));
        return false;
    }
    if (named_account != account_id_) {
        send(wire::error_frame(cmd, code::forbidden, "a connection can only act as its own account", request_id));
        return false;
    }
    return true;
}

void websocket_session::on_create_account(wire::create_account_request&& r) {
    proto::Request request;
    request.mutable_create_account()->set_nickname(r.nickname);
    log_in("CRT_ACCOUNT", subjects::k_create_account, std::move(request), [](const proto::Reply& reply) {
        return std::make_pair(reply.create_account().account_id(), wire::create_account_frame(reply.create_account()));
    });
}

void websocket_session::on_reconnect(wire::reconnect_request&& r) {
    proto::Request request;
    request.mutable_reconnect()->set_account_id(r.account_id);
    request.mutable_reconnect()->set_token(r.token);
    log_in("RECONNECT", subjects::k_reconnect, std::move(request), [](const proto::Reply& reply) {
        return std::make_pair(reply.reconnect().account_id(), wire::reconnect_frame(reply.reconnect()));
    });
}

void websocket_session::log_in(std::string_view cmd, std::string_view subject, proto::Request request,
                               login_result (*account_of)(const proto::Reply&)) {
    if (account_id_ != 0 || login_in_flight_) {
        send(wire::error_frame(cmd, code::already_logged_in,
                               account_id_ ? "this connection already has an account" : "a login is already in progress"));
        return;
    }
    login_in_flight_ = true;
    ask_logic(subject, std::move(request), [this, cmd, account_of](bus::request_status status, const proto::Reply* reply) {
        login_in_flight_ = false;
        if (!reply) return send(wire::error_frame(cmd, code::internal_error, describe_failure(status)));
        if (reply->code() != 0) return send(wire::error_frame(cmd, static_cast<code>(reply->code()), reply->msg()));
        auto [account_id, frame] = account_of(*reply);
        if (gone_) {
            // Bound online to a connection that closed meanwhile: it must not stay online.
            state_->report_offline(account_id, conn_key_);
            return;
        }
        bind_to(account_id);
        send(std::move(frame));
    });
}

void websocket_session::on_match(const wire::match_request& r) {
    if (!acting_as("MATCH", r.account_id)) return;
    proto::Request request;
    request.mutable_match()->set_account_id(r.account_id);
    ask_logic(subjects::k_match, std::move(request), [this](bus::request_status status, const proto::Reply* reply) {
        if (!reply) return send(wire::error_frame("MATCH", code::internal_error, describe_failure(status)));
        if (reply->code() != 0) return send(wire::error_frame("MATCH", static_cast<code>(reply->code()), reply->msg()));
        send(wire::match_frame(reply->match()));
    });
}

void websocket_session::on_dialogue(wire::dialogue_request&& r) {
    if (!acting_as("DIALOGUE", r.sender_id, r.request_id_echo)) return;
    queued_dialogue q{std::move(r.request_id_echo), r.session_id, {}};
    q.dialogue.set_request_id(std::move(r.request_id));
    q.dialogue.set_sender_id(r.sender_id);
    q.dialogue.set_session_id(r.session_id);
    q.dialogue.set_content(std::move(r.content));
    dialogue_queue_.push_back(std::move(q));
    if (!dialogue_in_flight_) flush_dialogues();
}

void websocket_session::flush_dialogues() {
    if (dialogue_queue_.empty() || gone_) return;
    const auto take = std::min<std::size_t>(dialogue_queue_.size(), k_max_dialogue_batch);
    auto batch = std::make_shared<std::vector<queued_dialogue>>(std::make_move_iterator(dialogue_queue_.begin()),
                                                                std::make_move_iterator(dialogue_queue_.begin() + take));
    dialogue_queue_.erase(dialogue_queue_.begin(), dialogue_queue_.begin() + take);
    proto::Request request;
    for (const auto& q : *batch) *request.mutable_dialogue()->add_items() = q.dialogue;
    dialogue_in_flight_ = true;
    ask_logic(subjects::k_dialogue, std::move(request),
              [this, batch](bus::request_status status, const proto::Reply* reply) {
                  dialogue_in_flight_ = false;
                  for (std::size_t i = 0; i < batch->size(); ++i) {
                      proto::DialogueResult result;
                      if (!reply) {
                          result.set_code(wire::to_int(code::internal_error));
                          result.set_msg(describe_failure(status));
                      } else if (reply->code() != 0 || static_cast<int>(i) >= reply->dialogue().results_size()) {
                          result.set_code(reply->code() != 0 ? reply->code() : wire::to_int(code::internal_error));
                          result.set_msg(reply->code() != 0 ? reply->msg() : "incomplete reply from the chat service");
                      } else {
                          result = reply->dialogue().results(static_cast<int>(i));
                      }
                      const auto& q = (*batch)[i];
                      send(wire::dialogue_frame(q.request_id_echo, q.session_id, result));
                  }
                  flush_dialogues();
              });
}

void websocket_session::on_viewed_ack(const wire::viewed_ack_request& r) {
    if (!acting_as("VIEWED_ACK", r.account_id)) return;
    proto::Request request;
    auto* body = request.mutable_viewed_ack();
    body->set_session_id(r.session_id);
    body->set_account_id(r.account_id);
    body->set_msg_id(r.msg_id);
    ask_logic(subjects::k_viewed_ack, std::move(request),
              [this, session_id = r.session_id, msg_id = r.msg_id](bus::request_status status, const proto::Reply* reply) {
                  if (!reply) return send(wire::error_frame("VIEWED_ACK", code::internal_error, describe_failure(status)));
                  if (reply->code() != 0)
                      return send(wire::error_frame("VIEWED_ACK", static_cast<code>(reply->code()), reply->msg()));
                  send(wire::viewed_ack_frame(session_id, msg_id));
              });
}

void websocket_session::on_logout(const wire::logout_request& r) {
    if (!acting_as("LOGOUT", r.account_id)) return;
    proto::Request request;
    request.mutable_logout()->set_account_id(r.account_id);
    ask_logic(subjects::k_logout, std::move(request),
              [this, account_id = r.account_id](bus::request_status status, const proto::Reply* reply) {
                  if (!reply) return send(wire::error_frame("LOGOUT", code::internal_error, describe_failure(status)));
                  if (reply->code() != 0)
                      return send(wire::error_frame("LOGOUT", static_cast<code>(reply->code()), reply->msg()));
                  if (account_id_ == account_id) {
                      state_->unbind(account_id_, this);
                      account_id_ = 0;
                  }
                  send(wire::logout_frame());
              });
}

void websocket_session::bind_to(std::int64_t account_id) {
    account_id_ = account_id;
    state_->bind(account_id, weak_from_this());
}

void websocket_session::ask_logic(std::string_view subject, proto::Request request, reply_handler done) {
    auto* origin = request.mutable_origin();
    origin->set_broker_id(state_->settings().id);
    origin->set_conn_key(conn_key_);
    origin->set_account_id(account_id_);
    state_->requester().request(
        std::string(subject), request.SerializeAsString(), state_->settings().request_timeout,
        [self = shared_from_this(), done = std::move(done)](bus::request_status status, std::string_view data) {
            // Decoded here on the NATS thread; handled on the connection's strand.
            auto reply = std::make_shared<proto::Reply>();
            if (status == bus::request_status::replied &&
                !reply->ParseFromArray(data.data(), static_cast<int>(data.size())))
                status = bus::request_status::failed;
            net::post(self->ws_.get_executor(), [self, status, reply, done] {
                done(status, status == bus::request_status::replied ? reply.get() : nullptr);
            });
        });
}

void websocket_session::push(std::int64_t receiver_id, std::shared_ptr<const std::string> frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), receiver_id, frame = std::move(frame)]() mutable {
        if (self->account_id_ == receiver_id) self->send(std::move(frame));
    });
}

void websocket_session::kick(const std::string& conn_key) {
    net::post(ws_.get_executor(), [self = shared_from_this(), conn_key] {
        if (conn_key != self->conn_key_ || self->gone_) return;
        // The account lives on another connection now: leave it bound there.
        if (self->account_id_ != 0) self->state_->unbind(self->account_id_, self.get());
        self->account_id_ = 0;
        self->close_with(static_cast<websocket::close_code>(k_close_replaced), "replaced by a new connection");
    });
}

void websocket_session::shutdown() {
    net::post(ws_.get_executor(),
              [self = shared_from_this()] { self->close_with(websocket::close_code::going_away, "broker stopping"); });
}

void websocket_session::close_with(websocket::close_code close_code, const char* reason) {
    if (gone_) return;
    ws_.async_close(websocket::close_reason(close_code, reason), [self = shared_from_this()](beast::error_code) {
        // The read loop sees the close and ends the connection.
    });
}

void websocket_session::send(std::string frame) { send(std::make_shared<const std::string>(std::move(frame))); }

void websocket_session::send(std::shared_ptr<const std::string> frame) {
    if (gone_) return;
    if (write_queue_.size() >= k_max_write_queue) {
        state_->log().warn("connection {} is not reading; disconnecting it", conn_key_);
        on_gone();
        return;
    }
    write_queue_.push_back(std::move(frame));
    if (write_queue_.size() == 1) do_write();
}

void websocket_session::do_write() {
    ws_.text(true);
    ws_.async_write(net::buffer(*write_queue_.front()),
                    beast::bind_front_handler(&websocket_session::on_write, shared_from_this()));
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
    if (ec || gone_) {
        on_gone();
        return;
    }
    write_queue_.pop_front();
    if (!write_queue_.empty()) do_write();
}

void websocket_session::schedule_ping() {
    ping_timer_.expires_after(state_->settings().ping_interval);
    ping_timer_.async_wait(beast::bind_front_handler(&websocket_session::on_ping_timer, shared_from_this()));
}

void websocket_session::on_ping_timer(beast::error_code ec) {
    if (ec || gone_) return;
    if (std::chrono::steady_clock::now() - last_heard_ >= state_->settings().ping_max_wait) {
        state_->log().info("connection {} (account {}) silent for {} ms; dropping it", conn_key_, account_id_,
                           state_->settings().ping_max_wait.count());
        on_gone();
        return;
    }
    send(wire::ping_frame(account_id_));
    schedule_ping();
}

void websocket_session::on_gone() {
    if (gone_) return;
    gone_ = true;
    ping_timer_.cancel();
    write_queue_.clear();
    if (account_id_ != 0) {
        state_->unbind(account_id_, this);
        state_->report_offline(account_id_, conn_key_);
        account_id_ = 0;
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

}  // namespace chat::broker
