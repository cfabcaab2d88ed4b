#pragma once


#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <vector>

#include "services/dispatcher/src/dispatch_metrics.hpp"
#include "services/dispatcher/src/drain_plan.hpp"
#include "shared/bus/nats_connection.hpp"

namespace chat::dispatcher {

/// Publishes each push on broker.<id>.push, in order, and returns once nats-server has
/// them all (a flush); throws bus::nats_error when it cannot.
void publish_pushes(bus::connection& nats, const std::vector<broker_push>& pushes);

/// One database connection that owns a share of the inbox partitions and drains them.
/// Ownership is a session-level advisory lock per partition: exclusive while held and
/// released by PostgreSQL itself when the connection dies, so a crashed dispatcher's
/// partitions move to the survivors at their next rebalance.
class drainer {
public:
    drainer(std::unique_ptr<pqxx::connection> conn, int batch_max);

    int partitions() const { return partitions_; }
    const std::set<int>& owned() const { return owned_; }

    /// Takes or gives back partitions so each live drainer owns about partitions / live.
    /// Returns the partitions gained and lost.
    void rebalance(std::set<int>& gained, std::set<int>& lost);

    /// Delivers up to batch_max rows of these partitions (owned ones), oldest first:
    /// read_rows, plan_drain, publish_pushes, delete_rows, in that order, so rows go only
    /// once nats-server has their pushes. Returns how many rows it handled. Records the
    /// drain's time and each push's delivery time in `recorded` when given.
    int drain(const std::set<int>& partitions, bus::connection& nats, dispatch_metrics* recorded = nullptr);

    /// How many rows the inbox holds, every partition's (chat_inbox_rows).
    long long inbox_rows();

    /// drain()'s first step: up to batch_max rows of these partitions, in inbox id order.
    std::vector<inbox_row> read_rows(const std::set<int>& partitions);
    /// drain()'s last step: deletes exactly these inbox rows.
    void delete_rows(const std::vector<std::int64_t>& ids);

private:
    std::unique_ptr<pqxx::connection> conn_;
    int batch_max_;
    int partitions_ = 0;
    int presence_id_ = 0;
    std::set<int> owned_;
};

}  // namespace chat::dispatcher
