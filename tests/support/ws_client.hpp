#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chat::test {

using json = nlohmann::json;
using frame_predicate = std::function<bool(const json&)>;

/// An account as CRT_ACCOUNT returned it.
struct account {
    std::int64_t id = 0;
    std::string token;
    std::string nick;
};

/// A WebSocket client of the broker at ws://127.0.0.1:PORT/ws, driven synchronously
/// from the test thread. A background thread reads every frame into a buffer (and
/// answers the broker's PING with PONG unless auto-pong is off), so a test can send a
/// burst, then pick responses and pushes out of the buffer in whatever order it likes.
/// Every wait has a timeout: a hang fails the test instead of blocking it.
class ws_client {
  public:
    struct options {
        std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
        bool auto_pong = true;
        std::string target = "/ws";
        /// The connection's source address, e.g. "127.0.1.5": loopback takes any
        /// 127.x.y.z, so the broker sees another person's address. Empty: the kernel's choice.
        std::string local_address;
        /// Extra header lines of the upgrade request, e.g. {"X-Forwarded-For", "203.0.113.7"}.
        std::vector<std::pair<std::string, std::string>> headers;
    };

    explicit ws_client(std::uint16_t port);
    ws_client(std::uint16_t port, options opts);
    ~ws_client();
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    // --- sending (queued in order; does not wait for the write to finish) ---
    void send(const json& frame);
    void send_text(std::string text);
    void send_binary(std::string data);

    // --- receiving ---
    /// The oldest buffered frame (responses and pushes alike; the broker's PINGs only
    /// when auto-pong is off), waiting up to `timeout`. Frames that are not JSON come
    /// back as {"cmd":"<NOT JSON>","raw":...}; binary frames as {"cmd":"<BINARY>",...}.
    std::optional<json> next_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Sends `request` and returns its response: the first frame carrying the expected
    /// cmd (PONG for PING) and a `code` (and the same requestId, when the response has
    /// one). Everything else stays buffered. Throws on timeout, with what did arrive.
    json request(const json& request, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Sends a raw text frame and waits for a response whose cmd is `expected_cmd`.
    json request_text(std::string text, const std::string& expected_cmd,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Waits for a response (a frame with `code`, or a PONG) with this cmd and, when
    /// given and echoed, this requestId. Throws on timeout.
    json wait_response(const std::string& cmd, std::chrono::milliseconds timeout,
                       const std::optional<json>& request_id = std::nullopt);
    /// The first buffered or arriving frame matching `predicate`, removed from the
    /// buffer; nullopt on timeout or when the connection closed first.
    std::optional<json> wait_push(const frame_predicate& predicate,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Removes and returns every buffered frame matching `predicate` (no waiting).
    std::vector<json> take_all(const frame_predicate& predicate);
    /// A copy of the buffer, oldest first.
    std::vector<json> buffered() const;

    // --- PING / PONG ---
    void set_auto_pong(bool on);
    /// How many PINGs the broker sent (whether or not they were answered).
    std::size_t pings_received() const;
    /// The most recent PING frame the broker sent.
    std::optional<json> last_ping() const;
    /// Waits until at least `count` PINGs have arrived.
    bool wait_pings(std::size_t count, std::chrono::milliseconds timeout);

    // --- closing ---
    bool is_open() const;
    /// Waits until the server (or an abort) ended the connection.
    bool wait_closed(std::chrono::milliseconds timeout);
    /// The WebSocket close code the server sent, once it closed the connection.
    std::optional<int> close_code() const;
    /// Sends a WebSocket close frame and waits briefly for the server's reply.
    void close(int code = 1000);
    /// Closes the TCP socket without a WebSocket close, like a crashed browser.
    void abort();

    // --- conveniences (throw when the response code is not 0 where noted) ---
    /// CRT_ACCOUNT; throws unless code 0; remembers the id and token.
    account create_account(const std::string& nick);
    /// RECONNECT with these credentials; returns the response (remembers the id on 0).
    json reconnect(std::int64_t account_id, const std::string& token);
    /// MATCH as the bound account; returns the response.
    json match();
    /// DIALOGUE as the bound account; returns the response.
    json say(std::int64_t session_id, const std::string& content, const json& request_id);
    /// LOGOUT as the bound account; returns the response.
    json logout();
    /// PING → the PONG frame.
    json ping();

    std::int64_t account_id() const { return account_id_; }
    const std::string& token() const { return token_; }
    std::uint16_t port() const { return port_; }
    /// The client's own TCP port (the broker sees the connection coming from it).
    std::uint16_t local_port() const { return local_port_; }

    /// One line describing the connection state and buffered frames, for messages.
    std::string describe() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
    std::uint16_t port_;
    std::uint16_t local_port_ = 0;
    std::int64_t account_id_ = 0;
    std::string token_;
};

}  // namespace chat::test
