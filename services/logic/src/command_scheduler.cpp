#include "services/logic/src/command_scheduler.hpp"

namespace chat::logic {
namespace {

work_kind kind_of(const proto::Request& request) {
    switch (request.body_case()) {
        case proto::Request::kDialogue: return work_kind::dialogues;
        case proto::Request::kMatch: return work_kind::matches;
        case proto::Request::kAck: return work_kind::acks;
        default: return work_kind::commands;
    }
}

constexpr int k_dialogues = static_cast<int>(work_kind::dialogues);
constexpr int k_matches = static_cast<int>(work_kind::matches);

}  // namespace

void command_scheduler::push(command_job job) {
    const auto kind = kind_of(job.request);
    {
        std::lock_guard lock(mutex_);
        if (kind == work_kind::dialogues) queued_dialogue_items_ += job.request.dialogue().items_size();
        queues_[static_cast<int>(kind)].push_back(std::move(job));
    }
    work_ready_.notify_one();
}

bool command_scheduler::full_group_queued(int index) const {
    if (index == k_dialogues) return queued_dialogue_items_ >= limits_.dialogue_batch_max;
    return queues_[index].size() >= limits_.match_group_max;
}

// DIALOGUEs and MATCHes wait while enough of their transactions are in flight: they go
// together in the next one (group commit) instead of each in a transaction of its own.
// A full group never waits, so throughput does not hang on a few slow commits.
bool command_scheduler::ready(int index) const {
    if (queues_[index].empty()) return false;
    const int limit = index == k_dialogues ? limits_.dialogue_transactions
                      : index == k_matches ? limits_.match_transactions
                                           : 0;
    return limit == 0 || in_flight_[index] < limit || full_group_queued(index);
}

bool command_scheduler::any_ready() const {
    for (int i = 0; i < k_kinds; ++i)
        if (ready(i)) return true;
    return false;
}

bool command_scheduler::next(std::vector<command_job>& taken, work_kind& kind) {
    std::unique_lock lock(mutex_);
    // Stopping: a worker leaves once nothing is ready for it; queued DIALOGUEs are then
    // taken by a worker whose DIALOGUE transaction ends (it comes back here).
    work_ready_.wait(lock, [&] { return stopping_ || any_ready(); });
    if (!any_ready()) return false;
    int index = turn_;
    while (!ready(index)) index = (index + 1) % k_kinds;
    turn_ = (index + 1) % k_kinds;
    kind = static_cast<work_kind>(index);
    ++in_flight_[index];
    auto& queue = queues_[index];
    switch (kind) {
        case work_kind::dialogues: {
            // Everything queued, up to the batch limit in messages.
            int items = 0;
            while (!queue.empty()) {
                const int next = queue.front().request.dialogue().items_size();
                if (items > 0 && items + next > limits_.dialogue_batch_max) break;
                items += next;
                queued_dialogue_items_ -= next;
                taken.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            break;
        }
        case work_kind::matches:
        case work_kind::acks: {
            const auto most = kind == work_kind::matches ? limits_.match_group_max : limits_.ack_group_max;
            while (!queue.empty() && taken.size() < most) {
                taken.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            break;
        }
        case work_kind::commands:
            taken.push_back(std::move(queue.front()));
            queue.pop_front();
            break;
    }
    return true;
}

void command_scheduler::done(work_kind kind) {
    {
        std::lock_guard lock(mutex_);
        --in_flight_[static_cast<int>(kind)];
    }
    // DIALOGUEs or MATCHes may be waiting for this transaction to end.
    if (kind == work_kind::dialogues || kind == work_kind::matches) work_ready_.notify_one();
}

void command_scheduler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
}

}  // namespace chat::logic
