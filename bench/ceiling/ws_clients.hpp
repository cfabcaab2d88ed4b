#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace chat::bench::ceiling {

/// The users' browsers for the WebSocket probe (their CPU is not counted): Beast clients
/// on one thread, connection i logged in as account i + 1 and paired with i ^ 1 in
/// session i / 2 + 1 (the pairing ws_server makes in accept order, so they connect one
/// after another). Each sends DIALOGUE frames as chat-bench does (integer requestId,
/// content "t=...;c=...;s=...;" padded to the payload) with `window` unanswered, and
/// reads the acks and the partner's pushes.
class ws_clients {
  public:
    ws_clients(std::uint16_t port, std::size_t connections, std::size_t payload);
    ~ws_clients();
    ws_clients(const ws_clients&) = delete;
    ws_clients& operator=(const ws_clients&) = delete;

    struct result {
        std::uint64_t acked = 0;   // DIALOGUE answers with code 0
        std::uint64_t pushed = 0;  // PUSH_DIALOGUE frames
        std::uint64_t refused = 0;
        double seconds = 0;
    };
    /// Sends `messages` DIALOGUEs in all, spread evenly over the connections; returns once
    /// each was answered and pushed to the partner, or throws after `timeout`. Once only.
    result run(std::uint64_t messages, std::size_t window, std::chrono::seconds timeout);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chat::bench::ceiling
