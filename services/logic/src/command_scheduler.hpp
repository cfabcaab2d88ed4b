#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// A command taken from NATS: the request and the inbox its reply goes to (may be empty).
struct command_job {
    std::string reply_to;
    proto::Request request;
};

/// What a worker takes at once: a group of DIALOGUEs, MATCHes or ACKs, or one other
/// command.
enum class work_kind { dialogues, matches, acks, commands };

/// How big groups get and how many DIALOGUE and MATCH transactions run at once.
struct scheduler_limits {
    int dialogue_batch_max;     // DIALOGUE messages (items) in one group: logic.dialogue_batch_max
    int dialogue_transactions;  // DIALOGUE groups in flight: logic.dialogue_transactions
    // MATCH groups in flight: logic.match_transactions. Pairings contend for the same
    // rows (the pool, whoever is picked), so a few bigger groups cost PostgreSQL less
    // than one small group per worker.
    int match_transactions = 2;
    // MATCHes in one transaction at most: enough to share a commit among the matchers of
    // a busy moment, few enough that one waiting for a locked requester holds up little
    // (a group locks its requesters in id order first, so groups never deadlock).
    std::size_t match_group_max = 32;
    // ACK frames in one transaction at most (each moves a few rows; they never conflict).
    std::size_t ack_group_max = 128;
};

/// The queues between the NATS threads and logic's workers: commands wait here by kind,
/// and each worker takes the next group, the kinds taking turns so none starves.
/// DIALOGUEs wait while `dialogue_transactions` of their groups are in flight, so they
/// go together in the next one (group commit), except that a full batch never waits;
/// MATCHes likewise with `match_transactions` and `match_group_max`.
/// Thread-safe: one mutex, workers block in next().
class command_scheduler {
public:
    explicit command_scheduler(scheduler_limits limits) : limits_(limits) {}

    /// Queues a command (any thread) and wakes a worker.
    void push(command_job job);

    /// Waits until work is ready, then moves the next group into `taken` (which should
    /// be empty) and its kind into `kind`. Returns false once stopping and nothing is
    /// ready for this worker. Every true return needs one done(kind).
    bool next(std::vector<command_job>& taken, work_kind& kind);

    /// A worker finished what next() gave it: a DIALOGUE or MATCH transaction slot is
    /// free again.
    void done(work_kind kind);

    /// From now on next() returns false instead of waiting; what is queued is still
    /// handed out, DIALOGUEs as their transaction slots come free.
    void stop();

private:
    static constexpr int k_kinds = 4;

    bool ready(int index) const;  // with mutex_ held
    bool any_ready() const;       // with mutex_ held
    bool full_group_queued(int index) const;  // with mutex_ held

    const scheduler_limits limits_;
    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::deque<command_job> queues_[k_kinds];  // by work_kind
    bool stopping_ = false;
    int turn_ = 0;                   // the queue looked at first next time
    int in_flight_[k_kinds] = {};    // groups by kind; DIALOGUEs and MATCHes are limited...
    int queued_dialogue_items_ = 0;  // ... unless a full batch waits
};

}  // namespace chat::logic
