#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace chat::test {

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
