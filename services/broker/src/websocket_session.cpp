#include "websocket_session.hpp"

#include <boost/asio/post.hpp>

#include "shared/bus/subjects.hpp"
#include "shared/wire/limits.hpp"
#include "shared/wire/server_frames.hpp"
#include "shared_state.hpp"

namespace chat::broker {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace subjects = bus::subjects;
using wire::code;

namespace {

constexpr int k_max_dialogue_batch = 64;
// Tries of one DIALOGUE batch before its messages are answered with code 2.
constexpr int k_dialogue_attempts = 4;
constexpr std::uint16_t k_close_replaced = 4001;
// A queue over limits.max_queued_frames is a slow client only once its oldest frame has
// waited this long (a resume page is a burst, not slowness); past the hard cap it is
// dropped at once, so memory stays bounded either way.
constexpr auto k_write_stall = std::chrono::seconds(1);
constexpr std::size_t k_hard_queue_factor = 4;
constexpr std::size_t k_min_hard_queue = 512;
// The next resume page is asked for once the queue is this short.
constexpr std::size_t k_resume_low_water = 32;
// Tries of one resume page before the connection is closed with 1013 "try again later"
// so that the client resumes by RECONNECT. Giving up on the page and writing the pushes
// held meanwhile would leave a gap, and the client's cumulative ACK of a later message
// would then skip the missing ones for good.
constexpr int k_resume_attempts = 4;
constexpr auto k_resume_retry_delay = std::chrono::milliseconds(250);
constexpr std::uint16_t k_close_try_again = 1013;

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
      ping_timer_(ws_.get_executor()),
      retry_timer_(ws_.get_executor()),
      resume_timer_(ws_.get_executor()) {}

websocket_session::~websocket_session() {
    state_->leave(conn_id_);
    if (account_id_ != 0) {
        state_->unbind(account_id_, this);
        state_->report_offline(account_id_, conn_key_);
    }
}

void websocket_session::run(beast::http::request<beast::http::string_body> request) {
    beast::error_code ec;
    remote_address_ = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec).address().to_string();
    if (const double rate = state_->settings().messages_per_second; rate > 0) rate_.emplace(rate, 2 * rate);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "chat-broker"); }));
    // Frames above the hard cap close the connection (1009); smaller oversized frames
    // are discarded and answered with code 11 (limits.max_frame_bytes).
    ws_.read_message_max(wire::k_hard_frame_cap_bytes);
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

bool websocket_session::within_rate(std::string_view cmd, const nlohmann::json& request_id) {
    if ((rate_ && !rate_->try_take()) || (account_id_ != 0 && !state_->allow_account_message(account_id_))) {
        send(wire::error_frame(cmd, code::rate_limited, "slow down: too many messages; retry in a moment", request_id));
        return false;
    }
    return true;
}

void websocket_session::handle_request(wire::client_request&& request) {
    // PONG and ACK only answer the server; everything else counts against the limits.
    if (!std::holds_alternative<wire::pong_request>(request) && !std::holds_alternative<wire::ack_request>(request)) {
        const auto* dialogue = std::get_if<wire::dialogue_request>(&request);
        if (!within_rate(wire::command_name(request), dialogue ? dialogue->request_id_echo : nlohmann::json()))
            return;
    }
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
            else if constexpr (std::is_same_v<T, wire::ack_request>)
                on_ack(r);
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
    if (account_id_ == 0 && !login_in_flight_ && !state_->allow_account_creation(remote_address_)) {
        send(wire::error_frame("CRT_ACCOUNT", code::rate_limited, "too many new accounts from your address; retry later"));
        return;
    }
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
    if (request.has_reconnect()) {
        // Pushes for the account may reach this broker before the reply: hold them.
        holding_account_ = request.reconnect().account_id();
        resuming_ = true;
        state_->hold(holding_account_, weak_from_this());
    }
    ask_logic(subject, std::move(request), [this, cmd, account_of](bus::request_status status, const proto::Reply* reply) {
        login_in_flight_ = false;
        if (!reply || reply->code() != 0) {
            held_.clear();
            finish_resume();
            if (!reply) return send(wire::error_frame(cmd, code::internal_error, describe_failure(status)));
            return send(wire::error_frame(cmd, static_cast<code>(reply->code()), reply->msg()));
        }
        auto [account_id, frame] = account_of(*reply);
        if (gone_) {
            // Bound online to a connection that closed meanwhile: it must not stay online.
            state_->report_offline(account_id, conn_key_);
            finish_resume();
            return;
        }
        bind_to(account_id);
        send(std::move(frame));
        if (reply->has_reconnect()) deliver_resume(reply->reconnect().resume());
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
    send_dialogue_batch(std::move(batch), 1);
}

void websocket_session::send_dialogue_batch(std::shared_ptr<std::vector<queued_dialogue>> batch, int attempt) {
    proto::Request request;
    for (const auto& q : *batch) *request.mutable_dialogue()->add_items() = q.dialogue;
    dialogue_in_flight_ = true;
    ask_logic(subjects::k_dialogue, std::move(request),
              [this, batch, attempt](bus::request_status status, const proto::Reply* reply) {
                  bool transient = !reply || reply->code() == wire::to_int(code::internal_error);
                  if (reply && reply->code() == 0)
                      for (const auto& r : reply->dialogue().results())
                          transient |= r.code() == wire::to_int(code::internal_error);
                  if (transient && attempt < k_dialogue_attempts && !gone_) {
                      // The same batch again (stored items answer with their msgId): a later
                      // batch must not be stored before this one, or send order breaks.
                      retry_timer_.expires_after(std::chrono::milliseconds(250 << (attempt - 1)));
                      retry_timer_.async_wait([self = shared_from_this(), batch, attempt](beast::error_code ec) {
                          if (!ec && !self->gone_) self->send_dialogue_batch(batch, attempt + 1);
                      });
                      return;
                  }
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
                  if (transient) {
                      // Given up: what waited behind the batch fails too, so the client resends
                      // everything in its original order.
                      proto::DialogueResult failed;
                      failed.set_code(wire::to_int(code::internal_error));
                      failed.set_msg("an earlier message could not be stored; resend in order");
                      for (const auto& q : dialogue_queue_) send(wire::dialogue_frame(q.request_id_echo, q.session_id, failed));
                      dialogue_queue_.clear();
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

void websocket_session::on_ack(const wire::ack_request& r) {
    if (account_id_ == 0) {
        send(wire::ack_error_frame(r.session_id, r.msg_id, code::not_logged_in, "log in first"));
        return;
    }
    auto& position = pending_acks_[r.session_id];
    position = std::max(position, r.msg_id);
    if (!ack_in_flight_) flush_acks();
}

void websocket_session::flush_acks() {
    if (pending_acks_.empty() || gone_ || account_id_ == 0) return;
    proto::Request request;
    for (const auto& [session, msg] : pending_acks_) {
        auto* a = request.mutable_ack()->add_acks();
        a->set_session_id(session);
        a->set_msg_id(msg);
    }
    auto sent = std::make_shared<std::map<std::int64_t, std::int64_t>>(std::move(pending_acks_));
    pending_acks_.clear();
    ack_in_flight_ = true;
    ask_logic(subjects::k_ack, std::move(request), [this, sent](bus::request_status, const proto::Reply* reply) {
        ack_in_flight_ = false;
        if (!reply) {
            // Not stored: keep the positions; the client's next ACK sends them again.
            for (const auto& [session, msg] : *sent) pending_acks_[session] = std::max(pending_acks_[session], msg);
            return;
        }
        if (reply->code() != 0) {
            for (const auto& [session, msg] : *sent)
                send(wire::ack_error_frame(session, msg, static_cast<code>(reply->code()), reply->msg()));
        } else {
            for (const auto& r : reply->ack().rejected())
                send(wire::ack_error_frame(r.session_id(), r.msg_id(), static_cast<code>(r.code()), r.msg()));
        }
        flush_acks();
    });
}

void websocket_session::resume_after_bus_loss() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (self->gone_) return;
        // A resume (or RECONNECT) under way may have read its page before the loss: once it
        // is done, run another from the start.
        if (self->resuming_) {
            self->resume_again_ = true;
            return;
        }
        if (self->account_id_ == 0) return;
        self->resuming_ = true;
        self->request_resume_page();
    });
}

void websocket_session::deliver_resume(const proto::ResumeReply& page) {
    for (const auto& d : page.deliveries()) {
        if (d.kind() == proto::Delivery::MESSAGE) {
            auto& up_to = resumed_up_to_[d.session_id()];
            up_to = std::max(up_to, d.msg_id());
        }
        send(wire::push_frame(d));
    }
    if (!page.more()) {
        if (!resume_again_) return finish_resume();
        resume_again_ = false;
        resumed_up_to_.clear();  // the client drops what it already has
    }
    // Pace the pages by the client's reading: the next one once this one is mostly out.
    next_resume_page_wanted_ = true;
    if (write_queue_.size() < k_resume_low_water) {
        next_resume_page_wanted_ = false;
        request_resume_page();
    }
}

void websocket_session::request_resume_page() {
    if (gone_ || account_id_ == 0) {
        held_.clear();  // kicked: the account lives elsewhere now
        return finish_resume();
    }
    proto::Request request;
    request.mutable_resume()->set_account_id(account_id_);
    for (const auto& [session, msg] : resumed_up_to_) {
        auto* from = request.mutable_resume()->add_from();
        from->set_session_id(session);
        from->set_msg_id(msg);
    }
    ask_logic(subjects::k_resume, std::move(request), [this](bus::request_status status, const proto::Reply* reply) {
        if (gone_) return;
        if (reply && reply->code() == 0) {
            resume_failures_ = 0;
            return deliver_resume(reply->resume());
        }
        // Refused (the connection is no longer the account's) or out of tries: the client
        // must come back with RECONNECT, which resumes from its acknowledgements.
        if (reply || ++resume_failures_ >= k_resume_attempts) {
            state_->log().warn("connection {} (account {}): resume failed ({}); closing it so the client resumes",
                               conn_key_, account_id_, reply ? reply->msg() : describe_failure(status));
            return close_with(static_cast<websocket::close_code>(k_close_try_again), "resume failed; reconnect");
        }
        resume_timer_.expires_after(k_resume_retry_delay * resume_failures_);
        resume_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && !self->gone_) self->request_resume_page();
        });
    });
}

void websocket_session::finish_resume() {
    resuming_ = false;
    resume_again_ = false;
    resume_failures_ = 0;
    next_resume_page_wanted_ = false;
    resumed_up_to_.clear();
    if (holding_account_ != 0) {
        state_->unhold(holding_account_, this);
        holding_account_ = 0;
    }
    auto held = std::move(held_);
    held_.clear();
    for (auto& frame : held) send(std::move(frame));
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
        const bool mine = self->account_id_ == receiver_id || self->holding_account_ == receiver_id;
        if (!mine) return;
        if (!self->resuming_) return self->send(std::move(frame));
        if (self->held_.size() >= self->state_->settings().max_queued_frames) {
            self->state_->log().warn("connection {} held too many pushes while resuming; dropping it", self->conn_key_);
            return self->on_gone();
        }
        self->held_.push_back(std::move(frame));
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
              [self = shared_from_this()] { self->close_with(websocket::close_code::service_restart, "broker restarting"); });
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
    const auto limit = state_->settings().max_queued_frames;
    const bool stalled = std::chrono::steady_clock::now() - write_started_ > k_write_stall;
    if (write_queue_.size() >= limit &&
        (stalled || write_queue_.size() >= std::max(limit * k_hard_queue_factor, k_min_hard_queue))) {
        // Its undelivered messages wait for its RECONNECT (they are not acknowledged).
        state_->log().warn("connection {} (account {}) is not reading its frames; dropping it", conn_key_, account_id_);
        on_gone();
        return;
    }
    write_queue_.push_back(std::move(frame));
    if (write_queue_.size() == 1) do_write();
}

void websocket_session::do_write() {
    write_started_ = std::chrono::steady_clock::now();
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
    if (next_resume_page_wanted_ && write_queue_.size() < k_resume_low_water) {
        next_resume_page_wanted_ = false;
        request_resume_page();
    }
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
    retry_timer_.cancel();
    resume_timer_.cancel();
    write_queue_.clear();
    held_.clear();
    if (holding_account_ != 0) {
        state_->unhold(holding_account_, this);
        holding_account_ = 0;
    }
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
