#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

#include "shared/proto/chat.pb.h"

namespace chat::broker {

/// What a frame sent to the client says about its account's open sessions.
struct session_change {
    enum class kind { none, opened, ended };
    kind what = kind::none;
    std::int64_t session_id = 0;
    std::int64_t partner_id = 0;  // opened only
};

/// NewSession opens a session with its peer, PartnerExit ends one; other pushes say nothing.
session_change session_change_of(const proto::Delivery& delivery);

/// What to do with the client's TYPING.
enum class typing_verdict {
    relay,           // publish it to partner()
    repeat,          // the state last relayed, again within k_repeat_window: drop silently
    too_fast,        // over k_max_per_window relayed within k_window: answer 12
    not_in_session,  // the account is not (or no longer) in the session: answer 8
};

struct typing_decision {
    typing_verdict verdict;
    std::int64_t partner_id = 0;  // relay only
};

/// A connection's view of its account's open sessions (session → partner) and the TYPING
/// throttle per session, as a policy with no I/O. The map is learned from what the broker
/// tells the client anyway (MATCH replies, NewSession and PartnerExit pushes, the RECONNECT
/// reply's sessions), so TYPING never needs logic or PostgreSQL: it goes to the partner the
/// map names, and an incoming PUSH_TYPING is shown only if its sender is the partner the
/// map names for that session (a broker never trusts the sending broker's word for who
/// is in a session).
///
/// While a resume runs, pushes are held back from the client; their changes are held here
/// too (defer) and applied in order after the held frames are released (apply_deferred),
/// so the map always says what the client has been told.
class typing_relay {
public:
    using clock = std::chrono::steady_clock;
    /// A repeat of the state last relayed within this is dropped.
    static constexpr std::chrono::milliseconds k_repeat_window{1000};
    /// At most this many relayed per session within k_window.
    static constexpr std::size_t k_max_per_window = 4;
    static constexpr std::chrono::milliseconds k_window{1000};

    /// Replaces the sessions (a login: empty for CRT_ACCOUNT, the RECONNECT reply's list);
    /// deferred changes stay.
    void reset(const google::protobuf::RepeatedPtrField<proto::OpenSession>& sessions);
    void reset() { sessions_.clear(); }
    /// Forgets everything (the connection is no longer bound to the account).
    void clear();

    void open(std::int64_t session_id, std::int64_t partner_id);
    void end(std::int64_t session_id) { sessions_.erase(session_id); }
    void apply(const session_change& change);
    void defer(const session_change& change);
    void apply_deferred();

    std::optional<std::int64_t> partner(std::int64_t session_id) const;
    std::size_t size() const { return sessions_.size(); }

    /// The client sent TYPING: whether (and to whom) to relay it. A relay is counted.
    typing_decision outgoing(std::int64_t session_id, bool typing, clock::time_point now = clock::now());
    /// A relayed TYPING arrived: true when `sender_id` is the session's partner here.
    bool from_partner(std::int64_t session_id, std::int64_t sender_id) const;

private:
    struct session {
        std::int64_t partner_id = 0;
        bool last_state = false;
        // The times of the last k_max_per_window relays, oldest at `next` once full.
        std::array<clock::time_point, k_max_per_window> relays{};
        std::size_t next = 0;
        std::size_t count = 0;
    };

    std::unordered_map<std::int64_t, session> sessions_;
    std::deque<session_change> deferred_;
};

}  // namespace chat::broker
