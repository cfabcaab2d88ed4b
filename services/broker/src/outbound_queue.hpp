#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

namespace chat::broker {

/// A connection's frames waiting to be written, with the slow-client policy: one write
/// at a time, the rest queued behind it. A queue over `max_queued_frames` means a slow
/// client only once the frame being written has waited over a second (a resume page is
/// a burst, not slowness); past the hard cap (4 × the limit, at least 512) it means one
/// at once, so memory stays bounded either way. No I/O: the connection writes front().
class outbound_queue {
public:
    using frame = std::shared_ptr<const std::string>;
    using clock = std::chrono::steady_clock;
    static constexpr auto k_stall = std::chrono::seconds(1);
    static constexpr std::size_t k_hard_cap_factor = 4;
    static constexpr std::size_t k_min_hard_cap = 512;

    enum class push_result {
        write_now,  // the queue was idle: write front()
        queued,     // a write is under way; this frame follows
        too_slow,   // the client is not reading: drop it (the frame was not queued)
    };

    explicit outbound_queue(std::size_t max_queued_frames) : limit_(max_queued_frames) {}

    push_result push(frame f, clock::time_point now = clock::now());
    /// The connection starts writing front().
    void write_started(clock::time_point now = clock::now()) { write_started_ = now; }
    /// front() is written; true when another frame waits (write front() next).
    bool pop_written();

    const frame& front() const { return frames_.front(); }
    std::size_t size() const { return frames_.size(); }
    bool empty() const { return frames_.empty(); }
    void clear() { frames_.clear(); }
    std::size_t hard_cap() const;

private:
    std::size_t limit_;
    std::deque<frame> frames_;
    clock::time_point write_started_{};  // when the frame being written began
};

}  // namespace chat::broker
