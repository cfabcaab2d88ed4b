#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <pqxx/pqxx>
#include <set>

#include "shared/bus/nats_connection.hpp"

namespace chat::dispatcher {

/// One database connection that owns a share of the inbox partitions and drains them.
/// Ownership is a session-level advisory lock per partition: exclusive while held and
/// released by PostgreSQL itself when the connection dies, so a crashed dispatcher's
/// partitions move to the survivors at their next rebalance.
class drainer {
public:
    drainer(std::unique_ptr<pqxx::connection> conn, bus::connection& nats, spdlog::logger& log, int batch_max);

    int partitions() const { return partitions_; }
    const std::set<int>& owned() const { return owned_; }

    /// Takes or gives back partitions so each live drainer owns about partitions / live.
    /// Returns the partitions gained and lost.
    void rebalance(std::set<int>& gained, std::set<int>& lost);

    /// Delivers up to batch_max rows of these partitions (owned ones), oldest first;
    /// returns how many rows it handled.
    int drain(const std::set<int>& partitions);

private:
    std::unique_ptr<pqxx::connection> conn_;
    bus::connection& nats_;
    spdlog::logger& log_;
    int batch_max_;
    int partitions_ = 0;
    int presence_id_ = 0;
    std::set<int> owned_;
};

}  // namespace chat::dispatcher
