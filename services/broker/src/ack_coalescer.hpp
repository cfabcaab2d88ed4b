#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "shared/proto/chat.pb.h"

namespace chat::broker {

/// A refused ACK, to answer with an ACK error frame.
struct ack_rejection {
    std::int64_t session_id;
    std::int64_t msg_id;
    int code;
    std::string msg;
};

/// A connection's cumulative ACKs, as a policy with no I/O: one request at logic at a
/// time; ACKs that arrive meanwhile are coalesced to the highest msgId per session and
/// sent next. Positions of a request that got no reply are kept (the next ACK sends them
/// again); refused ones are reported to the client.
class ack_coalescer {
public:
    using positions = std::map<std::int64_t, std::int64_t>;  // session → highest msgId

    /// An ACK from the client; true when no request is out, so the caller should flush.
    bool add(std::int64_t session_id, std::int64_t msg_id);

    /// Starts a request with every position gathered so far: null when there is none
    /// (or one is already out); otherwise send these positions to logic.
    const positions* begin_flush();

    /// The reply to the request out (null: none came). Fills rejected() with what logic
    /// refused; true when the caller should flush again.
    bool on_reply(const proto::Reply* reply);

    const std::vector<ack_rejection>& rejected() const { return rejected_; }
    bool in_flight() const { return in_flight_; }
    const positions& pending() const { return pending_; }

private:
    positions pending_;
    positions sent_;
    std::vector<ack_rejection> rejected_;
    bool in_flight_ = false;
};

}  // namespace chat::broker
