// What a ws_connection does with each client command: checks it, asks logic, answers,
// and drives the policies (DIALOGUE pipeline, ACKs, resume). No socket work here: that
// is ws_connection.cpp's.
#include "services/broker/src/ws_connection.hpp"

#include "shared/bus/subjects.hpp"
#include "shared/wire/server_frames.hpp"

namespace chat::broker {

namespace subjects = bus::subjects;
using wire::code;

namespace {

// Resume pages that cannot be had close the connection with 1013 "try again later", so
// that the client resumes by RECONNECT.
constexpr std::uint16_t k_close_try_again = 1013;

const char* describe_failure(bus::request_status status) {
    switch (status) {
        case bus::request_status::timed_out: return "the chat service did not answer in time; retry";
        case bus::request_status::no_responders: return "the chat service is not running; retry later";
        default: return "the chat service could not be reached; retry";
    }
}

}  // namespace

void ws_connection::handle_frame(std::string_view text) {
    if (restarting_) return;  // unanswered: the client sends it again after its RECONNECT
    auto parsed = wire::parse_client_frame(text);
    if (auto* error = std::get_if<wire::frame_error>(&parsed)) {
        ctx_->recorded().answered(error->cmd, static_cast<int>(error->error_code), broker_metrics::clock::now());
        send(wire::error_frame(error->cmd, error->error_code, error->msg, error->request_id_echo));
        return;
    }
    handle_request(std::get<wire::client_request>(std::move(parsed)));
}

void ws_connection::handle_request(wire::client_request&& request) {
    if (message_limits::counted(request) && !limits_.allow(account_id_)) {
        const auto* dialogue = std::get_if<wire::dialogue_request>(&request);
        ctx_->recorded().rate_limited();
        ctx_->recorded().answered(wire::command_name(request), static_cast<int>(code::rate_limited),
                                  broker_metrics::clock::now());
        send(wire::error_frame(wire::command_name(request), code::rate_limited,
                               "slow down: too many messages; retry in a moment",
                               dialogue ? dialogue->request_id_echo : nlohmann::json()));
        return;
    }
    std::visit(
        [this](auto&& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, wire::ping_request>) {
                ctx_->recorded().answered("PING", 0, broker_metrics::clock::now());
                send(wire::pong_frame(account_id_));
            }
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
            else if constexpr (std::is_same_v<T, wire::cancel_match_request>)
                on_cancel_match(r);
            else if constexpr (std::is_same_v<T, wire::leave_request>) {
                proto::Request request;
                request.mutable_leave()->set_session_id(r.session_id);
                end_session("LEAVE", subjects::k_leave, r.session_id, std::move(request));
            } else if constexpr (std::is_same_v<T, wire::block_request>) {
                proto::Request request;
                request.mutable_block()->set_session_id(r.session_id);
                end_session("BLOCK", subjects::k_block, r.session_id, std::move(request));
            } else if constexpr (std::is_same_v<T, wire::report_request>) {
                proto::Request request;
                auto* body = request.mutable_report();
                body->set_session_id(r.session_id);
                body->set_reason(std::move(r.reason));
                body->set_text(std::move(r.text));
                end_session("REPORT", subjects::k_report, r.session_id, std::move(request));
            } else if constexpr (std::is_same_v<T, wire::typing_request>)
                on_typing(r);
            else
                static_assert(!sizeof(T), "a client request without a handler");
        },
        std::move(request));
}

bool ws_connection::acting_as(std::string_view cmd, std::int64_t named_account, const nlohmann::json& request_id) {
    if (account_id_ == 0) {
        ctx_->recorded().answered(cmd, static_cast<int>(code::not_logged_in), broker_metrics::clock::now());
        send(wire::error_frame(cmd, code::not_logged_in, "log in first (CRT_ACCOUNT or RECONNECT)", request_id));
        return false;
    }
    if (named_account != account_id_) {
        ctx_->recorded().answered(cmd, static_cast<int>(code::forbidden), broker_metrics::clock::now());
        send(wire::error_frame(cmd, code::forbidden, "a connection can only act as its own account", request_id));
        return false;
    }
    return true;
}

void ws_connection::on_create_account(wire::create_account_request&& r) {
    if (account_id_ == 0 && !login_in_flight_ && !ctx_->allow_account_creation(client_address_)) {
        ctx_->log().debug("connection {} from {}: CRT_ACCOUNT over the per-address limit", conn_key_, client_address_);
        ctx_->recorded().rate_limited();
        ctx_->recorded().answered("CRT_ACCOUNT", static_cast<int>(code::rate_limited), broker_metrics::clock::now());
        send(wire::error_frame("CRT_ACCOUNT", code::rate_limited, "too many new accounts from your address; retry later"));
        return;
    }
    proto::Request request;
    request.mutable_create_account()->set_nickname(r.nickname);
    log_in("CRT_ACCOUNT", subjects::k_create_account, std::move(request), [](const proto::Reply& reply) {
        return std::make_pair(reply.create_account().account_id(), wire::create_account_frame(reply.create_account()));
    });
}

void ws_connection::on_reconnect(wire::reconnect_request&& r) {
    proto::Request request;
    request.mutable_reconnect()->set_account_id(r.account_id);
    request.mutable_reconnect()->set_token(r.token);
    log_in("RECONNECT", subjects::k_reconnect, std::move(request), [](const proto::Reply& reply) {
        return std::make_pair(reply.reconnect().account_id(), wire::reconnect_frame(reply.reconnect()));
    });
}

void ws_connection::log_in(std::string_view cmd, std::string_view subject, proto::Request request,
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
        resume_.start();
        ctx_->connections().holding().set(holding_account_, weak_from_this());
    }
    ask_logic(subject, std::move(request), [this, cmd, account_of](bus::request_status status, const proto::Reply* reply) {
        login_in_flight_ = false;
        if (!reply || reply->code() != 0) {
            resume_.drop_held();
            typing_.clear();
            finish_resume();
            if (!reply) return send(wire::error_frame(cmd, code::internal_error, describe_failure(status)));
            return send(wire::error_frame(cmd, static_cast<code>(reply->code()), reply->msg()));
        }
        auto [account_id, frame] = account_of(*reply);
        if (gone_) {
            // Bound online to a connection that closed meanwhile: it must not stay online.
            ctx_->report_offline(account_id, conn_key_);
            finish_resume();
            return;
        }
        bind(account_id);
        if (reply->has_reconnect())
            typing_.reset(reply->reconnect().sessions());
        else
            typing_.reset();
        send(std::move(frame));
        if (reply->has_reconnect()) {
            ctx_->recorded().resumed();
            deliver_resume(reply->reconnect().resume());
        }
    });
}

void ws_connection::on_match(const wire::match_request& r) {
    if (!acting_as("MATCH", r.account_id)) return;
    proto::Request request;
    request.mutable_match()->set_account_id(r.account_id);
    for (const auto& interest : r.interests) request.mutable_match()->add_interests(interest);
    ask_logic(subjects::k_match, std::move(request), [this](bus::request_status status, const proto::Reply* reply) {
        if (!reply) return send(wire::error_frame("MATCH", code::internal_error, describe_failure(status)));
        if (reply->code() != 0)
            return send(wire::match_error_frame(static_cast<code>(reply->code()), reply->msg(), reply->match()));
        // Still the account that asked (not logged out meanwhile): TYPING may go to the partner.
        if (account_id_ != 0) typing_.open(reply->match().session_id(), reply->match().partner_id());
        send(wire::match_frame(reply->match()));
    });
}

void ws_connection::on_cancel_match(const wire::cancel_match_request& r) {
    if (!acting_as("CANCEL_MATCH", r.account_id)) return;
    proto::Request request;
    request.mutable_cancel_match()->set_account_id(r.account_id);
    ask_logic(subjects::k_cancel_match, std::move(request), [this](bus::request_status status, const proto::Reply* reply) {
        if (!reply) return send(wire::error_frame("CANCEL_MATCH", code::internal_error, describe_failure(status)));
        if (reply->code() != 0)
            return send(wire::error_frame("CANCEL_MATCH", static_cast<code>(reply->code()), reply->msg()));
        send(wire::cancel_match_frame());
    });
}

void ws_connection::end_session(std::string_view cmd, std::string_view subject, std::int64_t session_id,
                                proto::Request request) {
    if (account_id_ == 0)
        return send(wire::session_error_frame(cmd, session_id, code::not_logged_in,
                                              "log in first (CRT_ACCOUNT or RECONNECT)"));
    ask_logic(subject, std::move(request),
              [this, cmd, session_id](bus::request_status status, const proto::Reply* reply) {
                  if (!reply)
                      return send(wire::session_error_frame(cmd, session_id, code::internal_error,
                                                            describe_failure(status)));
                  // Ended now, or already (8): either way no TYPING goes there any more.
                  if (reply->code() == 0 || reply->code() == static_cast<int>(code::session_closed))
                      typing_.end(session_id);
                  if (reply->code() != 0)
                      return send(wire::session_error_frame(cmd, session_id, static_cast<code>(reply->code()),
                                                            reply->msg()));
                  send(wire::session_done_frame(cmd, session_id));
              });
}

void ws_connection::on_typing(const wire::typing_request& r) {
    if (account_id_ == 0)
        return send(wire::session_error_frame("TYPING", r.session_id, code::not_logged_in,
                                              "log in first (CRT_ACCOUNT or RECONNECT)"));
    const auto decision = typing_.outgoing(r.session_id, r.typing);
    switch (decision.verdict) {
        case typing_verdict::relay: {
            proto::Typing typing;
            typing.set_sender_id(account_id_);  // the connection's account, never the client's word
            typing.set_receiver_id(decision.partner_id);
            typing.set_session_id(r.session_id);
            typing.set_typing(r.typing);
            ctx_->recorded().answered("TYPING", 0, broker_metrics::clock::now());
            return ctx_->typing().publish(typing);
        }
        case typing_verdict::repeat: return;  // the partner already shows this state
        case typing_verdict::too_fast:
            ctx_->recorded().rate_limited();
            ctx_->recorded().answered("TYPING", static_cast<int>(code::rate_limited), broker_metrics::clock::now());
            return send(wire::session_error_frame("TYPING", r.session_id, code::rate_limited,
                                                  "slow down: at most 4 TYPING per second per conversation"));
        case typing_verdict::not_in_session:
            return send(wire::session_error_frame("TYPING", r.session_id, code::session_closed,
                                                  "not a conversation of yours, or it has ended"));
    }
}

void ws_connection::on_viewed_ack(const wire::viewed_ack_request& r) {
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

void ws_connection::on_logout(const wire::logout_request& r) {
    if (!acting_as("LOGOUT", r.account_id)) return;
    proto::Request request;
    request.mutable_logout()->set_account_id(r.account_id);
    ask_logic(subjects::k_logout, std::move(request),
              [this, account_id = r.account_id](bus::request_status status, const proto::Reply* reply) {
                  if (!reply) return send(wire::error_frame("LOGOUT", code::internal_error, describe_failure(status)));
                  if (reply->code() != 0)
                      return send(wire::error_frame("LOGOUT", static_cast<code>(reply->code()), reply->msg()));
                  if (account_id_ == account_id) unbind();
                  send(wire::logout_frame());
              });
}

void ws_connection::on_dialogue(wire::dialogue_request&& r) {
    if (!acting_as("DIALOGUE", r.sender_id, r.request_id_echo)) return;
    queued_dialogue q{std::move(r.request_id_echo), r.session_id, {}, broker_metrics::clock::now()};
    q.dialogue.set_request_id(std::move(r.request_id));
    q.dialogue.set_sender_id(r.sender_id);
    q.dialogue.set_session_id(r.session_id);
    q.dialogue.set_content(std::move(r.content));
    if (dialogues_.add(std::move(q)) == dialogue_next::send) send_dialogue_batch();
}

void ws_connection::send_dialogue_batch() {
    if (gone_) return;
    proto::Request request;
    for (const auto& q : dialogues_.in_flight()) *request.mutable_dialogue()->add_items() = q.dialogue;
    ask_logic(subjects::k_dialogue, std::move(request),
              [this](bus::request_status status, const proto::Reply* reply) { on_dialogue_reply(status, reply); });
}

void ws_connection::on_dialogue_reply(bus::request_status status, const proto::Reply* reply) {
    if (gone_) return;  // nothing can be answered any more
    const auto next = dialogues_.on_reply(reply, describe_failure(status));
    if (next == dialogue_next::retry_later) {
        if (restarting_) return close_for_restart();  // no time for retries: the client resends
        return after(retry_timer_, dialogues_.retry_delay(), [this] {
            if (dialogues_.retry() == dialogue_next::send) send_dialogue_batch();
        });
    }
    for (const auto& a : dialogues_.answers()) {
        ctx_->recorded().answered("DIALOGUE", a.result.code(), a.received);
        send(wire::dialogue_frame(a.request_id_echo, a.session_id, a.result));
    }
    // Shutting down, the next batch is not started: the client sends it again after RECONNECT.
    if (restarting_) return close_for_restart();
    if (next == dialogue_next::send) send_dialogue_batch();
}

void ws_connection::on_ack(const wire::ack_request& r) {
    if (account_id_ == 0) {
        send(wire::ack_error_frame(r.session_id, r.msg_id, code::not_logged_in, "log in first"));
        return;
    }
    if (acks_.add(r.session_id, r.msg_id)) flush_acks();
}

void ws_connection::flush_acks() {
    if (gone_ || account_id_ == 0) return;
    const auto* positions = acks_.begin_flush();
    if (!positions) return;
    proto::Request request;
    for (const auto& [session, msg] : *positions) {
        auto* a = request.mutable_ack()->add_acks();
        a->set_session_id(session);
        a->set_msg_id(msg);
    }
    ask_logic(subjects::k_ack, std::move(request), [this](bus::request_status, const proto::Reply* reply) {
        const bool again = acks_.on_reply(reply);
        for (const auto& r : acks_.rejected())
            send(wire::ack_error_frame(r.session_id, r.msg_id, static_cast<code>(r.code), r.msg));
        if (again) flush_acks();
    });
}

void ws_connection::on_push(std::shared_ptr<const std::string> frame, const session_change& change) {
    // The relay learns a change when the client does: held pushes' changes wait with them.
    switch (resume_.hold(frame)) {
        case hold_result::write:
            ctx_->recorded().pushed();
            typing_.apply(change);
            return send(std::move(frame));
        case hold_result::held: ctx_->recorded().pushed(); return typing_.defer(change);
        case hold_result::over_limit:
            ctx_->recorded().slow_client_dropped();
            ctx_->log().warn("connection {} held too many pushes while resuming; dropping it", conn_key_);
            return on_gone();
    }
}

void ws_connection::start_bus_loss_resume() {
    if (account_id_ != 0) ctx_->recorded().resumed();
    on_resume_next(resume_.bus_lost(account_id_ != 0));
}

void ws_connection::deliver_resume(const proto::ResumeReply& page) {
    for (const auto& d : page.deliveries()) {
        typing_.apply(session_change_of(d));
        send(wire::push_frame(d));
    }
    on_resume_next(resume_.on_page(page, outbound_.size()));
}

void ws_connection::on_resume_next(resume_next next) {
    switch (next) {
        case resume_next::none: return;
        case resume_next::request_page: return request_resume_page();
        case resume_next::finish: return finish_resume();
        case resume_next::retry_later:
            return after(resume_timer_, resume_.retry_delay(), [this] { request_resume_page(); });
        case resume_next::close:
            return close_with(static_cast<boost::beast::websocket::close_code>(k_close_try_again),
                              "resume failed; reconnect");
    }
}

void ws_connection::request_resume_page() {
    if (gone_ || account_id_ == 0) {
        resume_.drop_held();  // kicked: the account lives elsewhere now
        return finish_resume();
    }
    proto::Request request;
    request.mutable_resume()->set_account_id(account_id_);
    for (const auto& [session, msg] : resume_.positions()) {
        auto* from = request.mutable_resume()->add_from();
        from->set_session_id(session);
        from->set_msg_id(msg);
    }
    ask_logic(subjects::k_resume, std::move(request), [this](bus::request_status status, const proto::Reply* reply) {
        if (gone_) return;
        if (reply && reply->code() == 0) return deliver_resume(reply->resume());
        const auto next = resume_.on_page_failed(reply != nullptr);
        if (next == resume_next::close)
            ctx_->log().warn("connection {} (account {}): resume failed ({}); closing it so the client resumes",
                             conn_key_, account_id_, reply ? reply->msg() : describe_failure(status));
        on_resume_next(next);
    });
}

void ws_connection::finish_resume() {
    if (holding_account_ != 0) {
        ctx_->connections().holding().erase(holding_account_, this);
        holding_account_ = 0;
    }
    typing_.apply_deferred();
    for (auto& frame : resume_.finish()) send(std::move(frame));
}

}  // namespace chat::broker
