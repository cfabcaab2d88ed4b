#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/faults/ledger.hpp"

namespace chat::faults {

struct fleet_options {
    std::vector<std::uint16_t> broker_ports;
    int clients = 40;
    /// New messages per second per client (spread over its open sessions).
    double rate = 10;
    /// A DIALOGUE not answered this long is sent again (same requestId).
    std::chrono::milliseconds resend_timeout{5000};
    /// After code 2 or 12, the DIALOGUE is sent again this much later (plus jitter).
    std::chrono::milliseconds retry_delay{300};
    /// Cumulative ACKs go out this often, or after `ack_every` new pushes of a session.
    std::chrono::milliseconds ack_interval{200};
    int ack_every = 8;
    /// A client with this many unanswered DIALOGUEs writes nothing new (a person whose
    /// messages do not go out stops typing).
    std::size_t max_pending = 100;
    /// A connection that brought no frame for this long (PINGs included) is dropped.
    std::chrono::milliseconds silence_timeout{8000};
    /// Connecting, or CRT_ACCOUNT / RECONNECT, taking longer than this drops the attempt.
    std::chrono::milliseconds login_timeout{6000};
};

/// One client as the run sees it.
struct client_status {
    int index = 0;
    std::int64_t account = 0;
    int broker = -1;     ///< index of the broker it is connected to (-1: none)
    bool ready = false;  ///< connected and logged in
    bool dead = false;   ///< gave up (e.g. its token was refused)
    std::size_t open_sessions = 0;
    std::size_t pending = 0;                     ///< unanswered DIALOGUEs
    steady::time_point last_acked_first_sent{};  ///< newest first-send time of an acked message
    steady::time_point last_shown_first_sent{};  ///< same for a message it was shown
    int logins = 0;
    int last_match_code = -1;  ///< the code of its last MATCH answer (-1: none yet)
    std::string last_drop;     ///< why its last connection ended
};

/// Everything counted that is not in the ledger.
struct fleet_stats {
    std::map<std::string, std::uint64_t> counters;  ///< e.g. "close 1012", "DIALOGUE code 2"
};

/// N chat clients on one I/O thread, each a Beast WebSocket client of one of the brokers
/// with the behaviour of a careful real client: it answers PING, sends cumulative ACKs,
/// resends unanswered DIALOGUEs with the same requestId, reconnects with backoff to the
/// next broker and RECONNECTs with its token, then resends what is unanswered. Every
/// message and push goes through the ledger.
class fleet {
  public:
    fleet(fleet_options options, ledger& book);
    ~fleet();
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    /// Connects every client and creates its account; throws if they are not all
    /// logged in within `timeout`.
    void start(std::chrono::milliseconds timeout);
    /// Every client without an open session MATCHes, one after another (a partner's
    /// NewSession push gives it one too). Returns the number of open sessions.
    std::size_t match_all(std::chrono::milliseconds timeout);
    /// While on, clients write new messages at the rate; resends go on regardless.
    void set_traffic(bool on);
    /// While on, a client whose sessions all ended MATCHes again every 2 s.
    void set_auto_match(bool on);
    std::vector<client_status> status();
    fleet_stats stats();
    /// Closes every connection and stops the I/O thread.
    void stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chat::faults
