#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "services/broker/src/ack_coalescer.hpp"
#include "services/broker/src/broker_context.hpp"
#include "services/broker/src/dialogue_pipeline.hpp"
#include "services/broker/src/message_limits.hpp"
#include "services/broker/src/outbound_queue.hpp"
#include "services/broker/src/resume_pager.hpp"
#include "services/broker/src/typing_bus.hpp"
#include "services/broker/src/typing_relay.hpp"
#include "shared/bus/requester.hpp"
#include "shared/metrics/command_label.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/wire/client_frames.hpp"

namespace chat::broker {

/// One client's WebSocket connection: reads JSON frames, answers what it can itself,
/// forwards the rest to logic as NATS requests and writes replies and pushes back; TYPING
/// goes straight to the partner's broker. The policies (DIALOGUE pipeline, ACKs, resume,
/// outbound queue, rate limits, the TYPING relay) are plain
/// members it drives; everything runs on the connection's strand, and other threads
/// reach it only through post(). ws_connection.cpp holds the I/O (reading, writing,
/// timers, closing); ws_commands.cpp what each command does.
class ws_connection : public std::enable_shared_from_this<ws_connection> {
public:
    /// `client_address`: whom the connection is from, as http.trusted_proxies lets the
    /// broker believe (the TCP peer, or X-Forwarded-For behind a trusted proxy).
    ws_connection(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<broker_context> ctx,
                  std::string client_address);
    ~ws_connection();

    /// The client's address (set once, before the connection is shared: any thread).
    const std::string& client_address() const { return client_address_; }

    /// Accepts the WebSocket upgrade carried by `request`, then starts reading.
    void run(boost::beast::http::request<boost::beast::http::string_body> request);

    /// Thread-safe: queues a push for the account this connection is bound to (dropped
    /// if the connection is bound to another account by the time it runs). `change`: what
    /// the push says about the account's sessions (the TYPING relay learns it).
    void push(std::int64_t receiver_id, std::shared_ptr<const std::string> frame, session_change change = {});
    /// Thread-safe: another broker relayed the partner's TYPING; written only if this
    /// connection's account is the receiver and the sender is its partner in that session.
    void relay_typing(const proto::Typing& typing);
    /// Thread-safe: closes the connection if it is still `conn_key` (RECONNECT elsewhere).
    void kick(const std::string& conn_key);
    /// Thread-safe: closes the connection with 1012 "service restart" (broker shutdown),
    /// so the client reconnects, elsewhere if it can, and resumes. The DIALOGUE batch at
    /// logic is answered first (for at most k_restart_drain); frames arriving meanwhile
    /// are not read any more (the client sends them again after its RECONNECT).
    void shutdown();
    static constexpr std::chrono::milliseconds k_restart_drain{1000};
    /// Thread-safe: the broker's NATS link was down, so pushes may have been lost: ask
    /// logic for everything this account has not acknowledged.
    void resume_after_bus_loss();

private:
    // ws_connection.cpp: I/O.
    void on_accept(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void send(std::string frame);
    void send(std::shared_ptr<const std::string> frame);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t bytes);
    void close_with(boost::beast::websocket::close_code code, const char* reason);
    /// Closes with 1012 "service restart".
    void close_for_restart();
    /// Shutting down and no DIALOGUE batch at logic: close_for_restart().
    void close_for_restart_when_idle();
    void schedule_ping();
    void on_ping_timer(boost::beast::error_code ec);
    /// Runs `then` on this connection's strand after `delay`, unless the connection is gone.
    template <typename Then>
    void after(boost::asio::steady_timer& timer, std::chrono::milliseconds delay, Then then);
    /// Sends a request to logic; `done(status, reply or null)` runs on this connection's strand.
    template <typename Done>
    void ask_logic(std::string_view subject, proto::Request request, Done done);
    /// The connection is over: unbind and tell logic the account is offline.
    void on_gone();
    /// The connection acts for `account_id` from now on: pushes and TYPING reach it here.
    void bind(std::int64_t account_id);
    /// The connection no longer acts for its account (LOGOUT, replaced, gone).
    void unbind();

    // ws_commands.cpp: what each command does.
    void handle_frame(std::string_view text);
    void handle_request(wire::client_request&& request);
    /// Refuses (and answers) a command that needs an account this connection does not
    /// have or that names another account; true when the command may go on.
    bool acting_as(std::string_view cmd, std::int64_t named_account, const nlohmann::json& request_id = nullptr);
    void on_create_account(wire::create_account_request&& r);
    void on_reconnect(wire::reconnect_request&& r);
    /// The account a login reply binds to and the frame that answers the client.
    using login_result = std::pair<std::int64_t, std::string>;
    /// CRT_ACCOUNT and RECONNECT: one login at a time; on success bind the connection.
    void log_in(std::string_view cmd, std::string_view subject, proto::Request request,
                login_result (*account_of)(const proto::Reply&));
    void on_match(const wire::match_request& r);
    void on_cancel_match(const wire::cancel_match_request& r);
    /// LEAVE, BLOCK and REPORT: for the connection's own account; success ends the session.
    void end_session(std::string_view cmd, std::string_view subject, std::int64_t session_id, proto::Request request);
    void on_typing(const wire::typing_request& r);
    void on_viewed_ack(const wire::viewed_ack_request& r);
    void on_logout(const wire::logout_request& r);
    void on_dialogue(wire::dialogue_request&& r);
    void send_dialogue_batch();
    void on_dialogue_reply(bus::request_status status, const proto::Reply* reply);
    void on_ack(const wire::ack_request& r);
    void flush_acks();
    /// A push for this connection's account: written, or held while a resume runs.
    void on_push(std::shared_ptr<const std::string> frame, const session_change& change);
    void start_bus_loss_resume();
    /// Writes a page of missed deliveries, then asks for the next page or ends the resume.
    void deliver_resume(const proto::ResumeReply& page);
    void on_resume_next(resume_next next);
    void request_resume_page();
    /// Ends a resume: pushes held meanwhile go out, in the order they came. Only ever
    /// after the last page was written: a page that cannot be had closes the connection.
    void finish_resume();

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<broker_context> ctx_;
    const std::uint64_t conn_id_;
    const std::string conn_key_;
    const std::string client_address_;
    boost::asio::steady_timer ping_timer_;
    boost::asio::steady_timer retry_timer_;   // the in-flight DIALOGUE batch's next try
    boost::asio::steady_timer resume_timer_;  // the next try of a resume page that failed
    boost::asio::steady_timer restart_timer_; // the end of the drain before a 1012 close
    std::chrono::steady_clock::time_point last_heard_;

    std::int64_t account_id_ = 0;    // 0 until CRT_ACCOUNT or RECONNECT succeeds
    std::int64_t holding_account_ = 0;  // a RECONNECT in flight holds pushes for this account
    bool login_in_flight_ = false;   // one CRT_ACCOUNT/RECONNECT at a time
    bool discarding_oversized_ = false;
    bool closing_ = false;  // a close frame is on its way: one close per connection
    bool restarting_ = false;  // the broker shuts down: answer what logic has, then 1012
    bool gone_ = false;
    bool counted_ = false;  // in chat_connections (from the accepted upgrade to on_gone)

    outbound_queue outbound_;
    message_limits limits_;
    dialogue_pipeline dialogues_;
    ack_coalescer acks_;
    resume_pager resume_;
    typing_relay typing_;
    typing_lease typing_lease_;  // hears chat.typing.<account_id_> while bound
};

template <typename Then>
void ws_connection::after(boost::asio::steady_timer& timer, std::chrono::milliseconds delay, Then then) {
    timer.expires_after(delay);
    timer.async_wait([self = shared_from_this(), then = std::move(then)](boost::system::error_code ec) mutable {
        if (!ec && !self->gone_) then();
    });
}

template <typename Done>
void ws_connection::ask_logic(std::string_view subject, proto::Request request, Done done) {
    auto* origin = request.mutable_origin();
    origin->set_broker_id(ctx_->settings().id);
    origin->set_conn_key(conn_key_);
    origin->set_account_id(account_id_);
    origin->set_client_address(client_address_);
    // The client command this answers (static storage: safe to capture); none for
    // DIALOGUE batches (recorded per message) and resume pages (no client asked).
    const auto cmd = request.has_dialogue() || request.has_resume() ? std::string_view()
                                                                    : metrics::command_label(request);
    const auto started = broker_metrics::clock::now();
    ctx_->requester().request(
        std::string(subject), request.SerializeAsString(), ctx_->settings().request_timeout,
        [self = shared_from_this(), done = std::move(done), cmd, started](bus::request_status status,
                                                                           std::string_view data) {
            // Decoded here on the NATS thread; handled on the connection's strand.
            auto reply = std::make_shared<proto::Reply>();
            if (status == bus::request_status::replied &&
                !reply->ParseFromArray(data.data(), static_cast<int>(data.size())))
                status = bus::request_status::failed;
            boost::asio::post(self->ws_.get_executor(), [self, status, reply, done, cmd, started] {
                const bool replied = status == bus::request_status::replied;
                done(status, replied ? reply.get() : nullptr);
                if (!cmd.empty())
                    self->ctx_->recorded().answered(cmd, replied ? reply->code() : static_cast<int>(wire::code::internal_error),
                                                    started);
            });
        });
}

}  // namespace chat::broker
