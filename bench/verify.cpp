#include "bench/verify.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace chat::bench {

namespace {

struct example_sink {
    std::vector<std::string>& out;
    std::size_t limit;
    void add(std::string text) {
        if (out.size() < limit) out.push_back(std::move(text));
    }
};

std::string where(const side_record& from, const side_record& to) {
    return "session " + std::to_string(from.session_id) + " from " +
           std::to_string(from.account_id) + " to " + std::to_string(to.account_id);
}

// One direction: `sender`'s acked messages against what `receiver` got.
void check_direction(const side_record& sender, const side_record& receiver,
                     const std::unordered_set<std::int64_t>& partner_acked, verdict& v,
                     example_sink& ex) {
    std::unordered_set<std::int64_t> acked_ids;
    acked_ids.reserve(sender.acked.size());
    for (const auto& [seq, msg_id] : sender.acked) {
        (void)seq;
        if (!acked_ids.insert(msg_id).second || partner_acked.count(msg_id) != 0) {
            ++v.msg_id_conflicts;
            ex.add("msgId " + std::to_string(msg_id) + " answered to two sends in " +
                   where(sender, receiver));
        }
    }
    v.acked += sender.acked.size();

    // Send order: sorted by send sequence, msgIds must rise.
    auto by_seq = sender.acked;
    std::sort(by_seq.begin(), by_seq.end());
    for (std::size_t i = 1; i < by_seq.size(); ++i) {
        if (by_seq[i].second <= by_seq[i - 1].second) {
            ++v.send_order_violations;
            ex.add("send " + std::to_string(by_seq[i].first) + " got msgId " +
                   std::to_string(by_seq[i].second) + " after send " +
                   std::to_string(by_seq[i - 1].first) + " got " +
                   std::to_string(by_seq[i - 1].second) + " in " + where(sender, receiver));
        }
    }

    std::unordered_map<std::int64_t, int> times_received;
    times_received.reserve(receiver.received.size());
    std::int64_t highest = 0;
    for (std::int64_t msg_id : receiver.received) {
        int& n = times_received[msg_id];
        ++n;
        if (n > 1) {
            ++v.duplicated;
            ex.add("msgId " + std::to_string(msg_id) + " received " + std::to_string(n) +
                   " times in " + where(sender, receiver));
        } else if (msg_id < highest) {
            ++v.out_of_order;
            ex.add("msgId " + std::to_string(msg_id) + " received after " +
                   std::to_string(highest) + " in " + where(sender, receiver));
        }
        highest = std::max(highest, msg_id);
        if (n == 1 && acked_ids.count(msg_id) == 0) ++v.delivered_unacked;
    }
    for (const auto& [seq, msg_id] : by_seq) {  // in send order, so examples read in order
        (void)seq;
        if (acked_ids.erase(msg_id) == 0) continue;  // a conflict, counted above
        if (times_received.count(msg_id) != 0) {
            ++v.delivered;
        } else {
            ++v.lost;
            ex.add("msgId " + std::to_string(msg_id) + " acked but never received in " +
                   where(sender, receiver));
        }
    }
}

}  // namespace

verdict verify(const std::vector<side_record>& sides, std::size_t max_examples) {
    verdict v;
    example_sink ex{v.examples, max_examples};
    // session -> the records of its members (normally two)
    std::map<std::int64_t, std::vector<const side_record*>> by_session;
    for (const auto& s : sides) by_session[s.session_id].push_back(&s);

    for (const auto& [session, members] : by_session) {
        (void)session;
        if (members.size() != 2) {
            v.half_sessions += members.size();
            continue;
        }
        const side_record& a = *members[0];
        const side_record& b = *members[1];
        ++v.sessions;
        std::unordered_set<std::int64_t> b_ids;
        for (const auto& p : b.acked) b_ids.insert(p.second);
        check_direction(a, b, b_ids, v, ex);
        check_direction(b, a, {}, v, ex);  // a conflict between the sides is counted once
    }
    return v;
}

}  // namespace chat::bench
