#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "shared/metrics/labelled_children.hpp"
#include "shared/metrics/service_metrics.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// What logic records (docs/operations.md, "Metrics"): the commands it answered by
/// command and code, how long its transactions took and how many commands (DIALOGUE:
/// messages) each held, how many people wait in the pool, and what retention deleted.
/// Thread-safe.
class logic_metrics {
public:
    explicit logic_metrics(metrics::service_metrics& metrics);

    /// chat_logic_commands_total{cmd,code}
    void answered(const proto::Request& request, const proto::Reply& reply);
    /// chat_logic_transaction_seconds{kind} and chat_logic_batch_size{kind}; kind is
    /// dialogue, match, ack or command.
    void transaction(const char* kind, std::chrono::steady_clock::duration took, std::size_t size);
    /// chat_matching_waiting
    void waiting(long long people) { waiting_.Set(static_cast<double>(people)); }
    /// chat_retention_deleted_total{kind}: messages, sessions, accounts, reports or bans.
    void retention_deleted(const char* kind, long long rows);

private:
    metrics::command_counters commands_;
    metrics::histograms_by transaction_seconds_;  // by kind
    metrics::histograms_by batch_size_;           // by kind
    prometheus::Gauge& waiting_;
    prometheus::Family<prometheus::Counter>& retention_deleted_;
};

}  // namespace chat::logic
