#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "shared/proto/chat.pb.h"
#include "shared/util/backoff.hpp"

namespace chat::broker {

/// What the caller does after an event of a resume.
enum class resume_next {
    none,          // nothing now
    request_page,  // ask logic for the next page (from positions())
    finish,        // the last page is written: call finish() and write what it returns
    retry_later,   // wait retry_delay(), then request the page again
    close,         // the page cannot be had: close with 1013 so the client reconnects
};

/// What became of a push that reached the connection.
enum class hold_result { write, held, over_limit };

/// A connection's resume, as a policy with no I/O: pages of missed deliveries paced by
/// the outbound queue (the next page once the queue is below the low-water mark), pushes
/// held meanwhile and released in order after the last page, another resume from the
/// start when the bus was lost during one, and a page that cannot be had after N tries
/// ends the connection (releasing held pushes past a gap would let a later ACK skip it).
class resume_pager {
public:
    using frame = std::shared_ptr<const std::string>;
    static constexpr std::size_t k_low_water = 32;
    static constexpr int k_attempts = 4;
    static constexpr util::backoff k_retry_backoff{std::chrono::milliseconds(250), std::chrono::milliseconds(750)};

    /// `hold_limit`: pushes held beyond this end the connection (limits.max_queued_frames).
    explicit resume_pager(std::size_t hold_limit) : hold_limit_(hold_limit) {}

    bool active() const { return active_; }
    /// A RECONNECT went out: hold pushes until its resume is written.
    void start() { active_ = true; }
    /// The bus was lost: request_page when a resume starts now; one under way runs again
    /// once it is done; a connection without an account has nothing to resume.
    resume_next bus_lost(bool logged_in);

    /// A page was written to the outbound queue, which now holds `queued` frames.
    resume_next on_page(const proto::ResumeReply& page, std::size_t queued);
    /// The outbound queue shrank to `queued` frames.
    resume_next on_written(std::size_t queued);
    /// A page request failed: `refused` when logic answered with an error.
    resume_next on_page_failed(bool refused);
    std::chrono::milliseconds retry_delay() const { return k_retry_backoff.delay(failures_ - 1); }
    int failures() const { return failures_; }

    /// Per session, the highest msgId re-sent so far: where the next page starts.
    const std::map<std::int64_t, std::int64_t>& positions() const { return up_to_; }

    /// A push for the account: write it now, or hold it while a resume runs.
    hold_result hold(frame f);
    std::size_t held() const { return held_.size(); }
    /// Forgets the held pushes (the account lives elsewhere, or the connection is gone).
    void drop_held() { held_.clear(); }
    /// Ends the resume; returns the held pushes to write, in the order they came.
    std::deque<frame> finish();

private:
    std::size_t hold_limit_;
    bool active_ = false;
    bool again_ = false;        // the bus was lost during this resume: run another
    bool page_wanted_ = false;  // the next page is asked for once the queue drains
    int failures_ = 0;          // unanswered tries of the current page
    std::map<std::int64_t, std::int64_t> up_to_;
    std::deque<frame> held_;
};

}  // namespace chat::broker
