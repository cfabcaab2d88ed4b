#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace chat::test {

/// A TCP connection to the broker on 127.0.0.1 driven byte by byte, for what ws_client
/// (a well-behaved Beast client) cannot send or observe: broken WebSocket frames,
/// bytes that are not HTTP, a server closing while the client still writes.
class raw_connection {
  public:
    /// Connects; throws when the broker does not accept.
    explicit raw_connection(std::uint16_t port);
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    /// The WebSocket upgrade of /ws; true when the broker answered 101. What came after
    /// the response's header stays in received().
    bool upgrade(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Writes everything; false when the broker closed first (what it sent before still
    /// counts: read it).
    bool send(const std::string& bytes);
    /// Reads until `done(received())` holds, the broker closes the connection or
    /// `timeout` passes; returns received().
    const std::string& read_until(const std::function<bool(const std::string&)>& done,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Everything the broker sends until it closes the connection or `timeout` passes.
    const std::string& read_until_closed(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// What the broker sent so far (after the upgrade response, once upgraded).
    const std::string& received() const { return received_; }
    /// True once the broker closed the connection.
    bool closed() const { return closed_; }

  private:
    std::uint16_t port_;
    int fd_;
    std::string received_;
    bool closed_ = false;
};

/// A client frame: the FIN/RSV/opcode byte, then the payload, masked with a zero mask
/// (which leaves it readable) unless `masked` is false. Payloads up to 65535 bytes.
std::string ws_frame(std::uint8_t first, const std::string& payload, bool masked = true);

/// The code of the first close frame in what a server sent (1005 for a close frame
/// without one); nullopt when there is no complete close frame.
std::optional<int> close_code_in(const std::string& server_bytes);

/// Opens a WebSocket to 127.0.0.1:port/ws with plain sockets, sends one masked text
/// frame of `payload_bytes` bytes, and returns the code of the close frame the server
/// sent back (nullopt if none came within `timeout`).
///
/// ws_client cannot observe this reliably: a server that refuses a huge frame closes
/// the TCP connection while the client is still writing, and Beast's client then
/// fails the stream on the broken pipe before it reads the close frame already
/// waiting in the socket. Here the write error is ignored and the socket read anyway.
std::optional<int> send_oversized_frame(
    std::uint16_t port, std::size_t payload_bytes,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace chat::test
