#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chat::faults {

using steady = std::chrono::steady_clock;

/// What the run measured. The first six are the summary line; lost, duplicated and
/// out_of_order must be 0.
struct summary {
    std::uint64_t sent = 0;          ///< distinct messages the clients tried to send
    std::uint64_t acknowledged = 0;  ///< distinct messages that got code 0
    std::uint64_t delivered = 0;     ///< acknowledged (session, msgId) the partner received
    std::uint64_t lost = 0;          ///< acknowledged, and the partner never saw its content
    std::uint64_t duplicated = 0;    ///< messages a person would see twice (see ledger)
    std::uint64_t out_of_order = 0;  ///< new msgIds shown below one already shown

    // For information.
    std::uint64_t redelivered = 0;  ///< pushes of a msgId the client already had (dropped)
    std::uint64_t retries = 0;      ///< resends with the same requestId
    std::uint64_t unanswered = 0;   ///< never answered with a final code by the end
    std::uint64_t rejected = 0;     ///< answered with a final error (8: session over)
    std::uint64_t delivered_unacknowledged = 0;  ///< stored and pushed, but never got code 0
    std::uint64_t send_order_violations = 0;     ///< a client's sends numbered against send order
    std::uint64_t misrouted =
        0;  ///< pushed to the sender, with a wrong senderId, or unknown content

    /// The first few anomalies of each kind, described.
    std::vector<std::string> examples;

    /// The same counts for the messages first sent in each phase of the run (warm-up,
    /// then each fault until the next one).
    struct phase {
        std::string name;
        std::uint64_t sent = 0, acknowledged = 0, delivered = 0, lost = 0, duplicated = 0,
                      out_of_order = 0, retries = 0, redelivered = 0;
    };
    std::vector<phase> phases;

    bool ok() const { return lost == 0 && duplicated == 0 && out_of_order == 0; }
    /// "sent N acknowledged N delivered N lost N duplicated N out_of_order N"
    std::string line() const;
    /// "redelivered N retries N ..." (the information line).
    std::string info_line() const;
};

/// Running totals for progress lines.
struct totals {
    std::uint64_t sent = 0;
    std::uint64_t acknowledged = 0;
    std::uint64_t pushes = 0;  ///< fresh pushes shown
    std::uint64_t retries = 0;
    std::uint64_t redelivered = 0;
};

/// How the acknowledgements went around one fault.
struct recovery {
    /// From the fault to the first acknowledgement of a message first sent after it;
    /// nullopt when none was acknowledged before `until`.
    std::optional<std::chrono::milliseconds> first_ack;
    /// The longest time without any acknowledgement between the fault and `until`
    /// (the fault itself and `until` count as ends of a gap).
    std::chrono::milliseconds longest_gap{0};
};

/// The record of every message of the run: who sent what with which requestId, what the
/// server answered, and what each receiver was shown. Clients call it as things happen
/// (from any thread; it locks), the run asks it for the summary at the end.
///
/// Content carries the requestId ("fault <requestId> ..."), so a receiver's push is
/// traced back to the message it is. "Duplicated" counts distinct messages involved in
/// any of: one requestId acknowledged with two msgIds; two requestIds acknowledged with
/// one (session, msgId); one (session, msgId) pushed with two different contents; one
/// message's content pushed under two msgIds; a push whose (session, msgId) belongs to
/// another message's acknowledgement.
class ledger {
  public:
    /// Messages created from now on belong to this phase (for the per-phase counts).
    void begin_phase(const std::string& name);

    /// A new message from `client` (account `account`) into `session`; returns its index.
    std::size_t create(int client, std::int64_t account, std::int64_t session);
    std::string request_id(std::size_t index) const;
    std::string content(std::size_t index) const;
    std::optional<std::size_t> find(const std::string& request_id) const;

    /// One more send of the message (the first is counted by create()).
    void resent(std::size_t index);
    /// Code 0 with this msgId (every such answer, also a late one for a resend).
    void acknowledged(std::size_t index, std::int64_t session, std::int64_t msg_id);
    /// A final error code (the message will not be retried).
    void rejected(std::size_t index, int code);

    struct push_result {
        bool fresh = false;  ///< first time this receiver sees this msgId in the session
        std::optional<steady::time_point> first_sent;  ///< when the message was first sent
    };
    /// A PUSH_DIALOGUE reached `receiver_client` (account `receiver`).
    push_result pushed(int receiver_client, std::int64_t receiver, std::int64_t session,
                       std::int64_t msg_id, std::int64_t sender_id, const std::string& content);

    totals current() const;
    summary compute() const;
    /// The acknowledgements between a fault at `fault` and `until` (see recovery).
    recovery recovery_after(steady::time_point fault, steady::time_point until) const;

  private:
    enum class state { pending, acknowledged, rejected };
    struct message {
        int client = 0;
        std::int64_t account = 0;
        std::int64_t session = 0;
        std::uint64_t seq = 0;
        std::size_t phase = 0;
        steady::time_point first_sent;
        steady::time_point acknowledged_at;
        int attempts = 1;
        state st = state::pending;
        std::int64_t msg_id = 0;           // the first acknowledged msgId
        bool clean = false;                // acknowledged after exactly one send
        std::set<std::int64_t> ack_ids;    // every msgId any answer gave it
        std::set<std::int64_t> shown_ids;  // msgIds its content was shown under
    };
    using key = std::pair<std::int64_t, std::int64_t>;  // (session, msgId)
    struct view {  // what one receiver has shown of one session
        std::int64_t highest = 0;
        std::unordered_map<std::int64_t, std::string> shown;  // msgId -> content
    };

    void anomaly(const std::string& text);
    std::string at(steady::time_point t) const;
    void mark_duplicate(std::size_t index);

    mutable std::mutex mutex_;
    const steady::time_point origin_ = steady::now();  // times in examples are from here
    std::vector<std::string> phase_names_{"start"};
    std::vector<std::uint64_t> phase_out_of_order_{0};
    std::vector<std::uint64_t> phase_redelivered_{0};
    std::vector<message> messages_;
    std::unordered_map<std::string, std::size_t> by_request_id_;
    std::map<std::pair<int, std::int64_t>, std::vector<std::size_t>> by_sender_session_;
    std::map<int, std::uint64_t> next_seq_;  // per client
    std::map<key, std::size_t> acked_keys_;
    std::map<key, std::size_t> shown_keys_;               // (session, msgId) -> message shown there
    std::map<std::pair<int, std::int64_t>, view> views_;  // (receiver client, session)
    std::set<std::size_t> duplicates_;
    std::uint64_t retries_ = 0;
    std::uint64_t redelivered_ = 0;
    std::uint64_t out_of_order_ = 0;
    std::uint64_t misrouted_ = 0;
    std::uint64_t fresh_pushes_ = 0;
    std::uint64_t acknowledged_ = 0;
    std::vector<std::string> examples_;
};

}  // namespace chat::faults
