#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shared/bus/requester.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/rate_limiter.hpp"
#include "shared/wire/client_frames.hpp"

namespace chat::broker {

class shared_state;

/// One client connection: reads JSON frames, answers what it can itself, forwards the
/// rest to logic as NATS requests and writes replies and pushes back. Everything runs
/// on the connection's strand; other threads reach it only through post().
class websocket_session : public std::enable_shared_from_this<websocket_session> {
public:
    websocket_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<shared_state> state);
    ~websocket_session();

    /// Accepts the WebSocket upgrade carried by `request`, then starts reading.
    void run(boost::beast::http::request<boost::beast::http::string_body> request);

    /// Thread-safe: queues a push for the account this connection is bound to (dropped
    /// if the connection is bound to another account by the time it runs).
    void push(std::int64_t receiver_id, std::shared_ptr<const std::string> frame);
    /// Thread-safe: closes the connection if it is still `conn_key` (RECONNECT elsewhere).
    void kick(const std::string& conn_key);
    /// Thread-safe: closes the connection with 1012 "service restart" (broker shutdown),
    /// so the client reconnects, elsewhere if it can, and resumes.
    void shutdown();
    /// Thread-safe: the broker's NATS link was down, so pushes may have been lost: ask
    /// logic for everything this account has not acknowledged.
    void resume_after_bus_loss();

private:
    using reply_handler = std::function<void(bus::request_status, const proto::Reply*)>;

    struct queued_dialogue {
        nlohmann::json request_id_echo;
        std::int64_t session_id;
        proto::Dialogue dialogue;
    };

    void on_accept(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void handle_frame(std::string_view text);
    void handle_request(wire::client_request&& request);

    void on_create_account(wire::create_account_request&& r);
    void on_reconnect(wire::reconnect_request&& r);
    /// The account a login reply binds to and the frame that answers the client.
    using login_result = std::pair<std::int64_t, std::string>;
    /// CRT_ACCOUNT and RECONNECT: one login at a time; on success bind the connection.
    void log_in(std::string_view cmd, std::string_view subject, proto::Request request,
                login_result (*account_of)(const proto::Reply&));
    void on_match(const wire::match_request& r);
    void on_dialogue(wire::dialogue_request&& r);
    void on_viewed_ack(const wire::viewed_ack_request& r);
    void on_logout(const wire::logout_request& r);
    void on_ack(const wire::ack_request& r);
    void flush_acks();

    /// False (and the client told code 12) when this command is over a rate limit.
    bool within_rate(std::string_view cmd, const nlohmann::json& request_id);
    /// Writes a page of missed deliveries; asks for the next page or ends the resume.
    void deliver_resume(const proto::ResumeReply& page);
    void request_resume_page();
    /// Ends a resume: pushes held meanwhile go out, in the order they came. Only ever
    /// after the last page was written: a page that cannot be had closes the connection.
    void finish_resume();

    /// Refuses (and answers) a command that needs an account this connection does not
    /// have or that names another account; true when the command may go on.
    bool acting_as(std::string_view cmd, std::int64_t named_account, const nlohmann::json& request_id = nullptr);
    void flush_dialogues();
    void send_dialogue_batch(std::shared_ptr<std::vector<queued_dialogue>> batch, int attempt);
    void bind_to(std::int64_t account_id);
    /// Sends a request to logic; `done` runs on this connection's strand.
    void ask_logic(std::string_view subject, proto::Request request, reply_handler done);

    void send(std::string frame);
    void send(std::shared_ptr<const std::string> frame);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t bytes);
    void close_with(boost::beast::websocket::close_code code, const char* reason);

    void schedule_ping();
    void on_ping_timer(boost::beast::error_code ec);
    /// The connection is over: unbind and tell logic the account is offline.
    void on_gone();

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<shared_state> state_;
    const std::uint64_t conn_id_;
    const std::string conn_key_;

    std::deque<std::shared_ptr<const std::string>> write_queue_;
    std::chrono::steady_clock::time_point write_started_;  // when the frame being written began
    std::string remote_address_;
    std::optional<util::token_bucket> rate_;  // limits.messages_per_second
    boost::asio::steady_timer ping_timer_;
    boost::asio::steady_timer retry_timer_;  // the in-flight DIALOGUE batch's next try
    boost::asio::steady_timer resume_timer_;  // the next try of a resume page that failed
    std::chrono::steady_clock::time_point last_heard_;

    std::int64_t account_id_ = 0;      // 0 until CRT_ACCOUNT or RECONNECT succeeds
    bool login_in_flight_ = false;     // one CRT_ACCOUNT/RECONNECT at a time
    bool discarding_oversized_ = false;
    bool gone_ = false;

    // A connection has at most one DIALOGUE batch at logic; what arrives meanwhile waits
    // here and goes as the next batch, so msgIds follow the order the client sent.
    std::vector<queued_dialogue> dialogue_queue_;
    bool dialogue_in_flight_ = false;

    // Acks gathered while one batch is at logic: the highest msgId per session.
    std::map<std::int64_t, std::int64_t> pending_acks_;
    bool ack_in_flight_ = false;

    // While resuming (RECONNECT, or after the broker's NATS link came back), pushes for the
    // account wait in held_ until the missed deliveries are written, so a new message never
    // overtakes an older one the client has not seen.
    bool resuming_ = false;
    std::int64_t holding_account_ = 0;              // a RECONNECT in flight holds for this account
    std::deque<std::shared_ptr<const std::string>> held_;
    std::map<std::int64_t, std::int64_t> resumed_up_to_;  // per session, re-sent so far
    bool next_resume_page_wanted_ = false;                // asked for once the queue drains
    bool resume_again_ = false;  // the NATS link was lost during this resume: run another
    int resume_failures_ = 0;    // unanswered tries of the current page
};

}  // namespace chat::broker
