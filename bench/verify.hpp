#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chat::bench {

/// What one member of a session saw: the msgIds its own messages got (code 0 answers)
/// and the partner's messages pushed to it.
struct side_record {
    std::int64_t session_id = 0;
    std::int64_t account_id = 0;
    std::int64_t partner_id = 0;
    /// (send sequence number, msgId) of every DIALOGUE of this side answered with code 0,
    /// in the order the answers came.
    std::vector<std::pair<std::uint64_t, std::int64_t>> acked;
    /// msgIds of the PUSH_DIALOGUEs this side received in this session, in arrival order.
    std::vector<std::int64_t> received;
};

/// The verdict over all sessions. Failures: lost, duplicated, out_of_order,
/// send_order_violations, msg_id_conflicts. The rest is information.
struct verdict {
    std::uint64_t sessions = 0;       // sessions with both members recorded
    std::uint64_t half_sessions = 0;  // sides whose partner has no record (not checked)
    std::uint64_t acked = 0;          // messages answered code 0
    std::uint64_t delivered = 0;      // acked messages the partner received (once or more)
    std::uint64_t lost = 0;           // acked, never received by the partner
    std::uint64_t duplicated = 0;     // extra receptions of a msgId already received
    std::uint64_t out_of_order = 0;   // first receptions of a msgId below one received before
    std::uint64_t send_order_violations = 0;  // a later send of one side got a lower msgId
    std::uint64_t msg_id_conflicts = 0;       // one msgId answered to two sends in a session
    std::uint64_t delivered_unacked = 0;      // received, but the sender saw no code 0 for it
    std::vector<std::string> examples;        // the first few failures, readable

    bool ok() const {
        return lost == 0 && duplicated == 0 && out_of_order == 0 && send_order_violations == 0 &&
               msg_id_conflicts == 0;
    }
};

/// Checks every acked message was delivered to the partner exactly once and in msgId
/// order, and that each side's messages got msgIds in the order it sent them.
verdict verify(const std::vector<side_record>& sides, std::size_t max_examples = 10);

}  // namespace chat::bench
