#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace chat::bench::ceiling {

/// The broker's I/O threads with NATS taken out: a Beast WebSocket server on loopback
/// that does per DIALOGUE what ws_connection does on its connection's strand. It
/// reads the text frame (async_read_some of up to 16 KiB until the message is done),
/// parses it with wire::parse_client_frame, checks the sender and builds the
/// proto::Dialogue. Where the broker would then hear logic's reply and the dispatcher's
/// push through NATS, it posts both itself: the ack frame (wire::dialogue_frame) to this
/// connection's strand, and the push frame (wire::push_frame, encoded as
/// broker_service::on_push does) to the partner's. Each connection writes its frames one
/// at a time from a queue, one WebSocket frame each, as the broker does (it does not
/// coalesce). Connections pair up in accept order: 2i and 2i + 1 share session i + 1,
/// and connection i is account i + 1.
class ws_server {
  public:
    explicit ws_server(int threads);
    ~ws_server();
    ws_server(const ws_server&) = delete;
    ws_server& operator=(const ws_server&) = delete;

    std::uint16_t port() const;
    /// CPU its I/O threads have used so far, in ns (/proc/self/task/<tid>/schedstat).
    std::uint64_t cpu_ns() const;
    /// DIALOGUEs handled so far.
    std::uint64_t dialogues() const;
    /// Returns once `count` connections are accepted and bound to their accounts.
    void wait_for_connections(std::size_t count);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chat::bench::ceiling
