#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "shared/bus/nats_connection.hpp"

namespace chat::dispatcher {

/// Where a drain's pushes go: NATS in the service (nats_push_sink); bench/ceiling keeps
/// them instead, to measure the database part of a drain on its own.
class push_sink {
public:
    virtual ~push_sink() = default;
    /// One serialized proto::Push for the accounts on broker `broker_id`.
    virtual void publish(const std::string& broker_id, const std::string& push) = 0;
    /// Returns once everything published has left for good; throws when it cannot.
    virtual void flush() = 0;
};

/// Publishes pushes on broker.<id>.push.
class nats_push_sink : public push_sink {
public:
    explicit nats_push_sink(bus::connection& nats) : nats_(nats) {}
    void publish(const std::string& broker_id, const std::string& push) override;
    void flush() override;

private:
    bus::connection& nats_;
};

/// One database connection that owns a share of the inbox partitions and drains them.
/// Ownership is a session-level advisory lock per partition: exclusive while held and
/// released by PostgreSQL itself when the connection dies, so a crashed dispatcher's
/// partitions move to the survivors at their next rebalance.
class drainer {
public:
    drainer(std::unique_ptr<pqxx::connection> conn, push_sink& pushes, spdlog::logger& log, int batch_max);

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
    push_sink& pushes_;
    spdlog::logger& log_;
    int batch_max_;
    int partitions_ = 0;
    int presence_id_ = 0;
    std::set<int> owned_;
};

}  // namespace chat::dispatcher
