#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <string_view>

#include "shared/metrics/labelled_children.hpp"
#include "shared/metrics/service_metrics.hpp"

namespace chat::broker {

/// What the broker records (docs/operations.md, "Metrics"). Thread-safe.
class broker_metrics {
public:
    using clock = std::chrono::steady_clock;

    explicit broker_metrics(metrics::service_metrics& metrics);

    /// A WebSocket connection opened or ended (chat_connections).
    void connection_opened() { connections_.Increment(); }
    void connection_closed() { connections_.Decrement(); }
    /// A command answered with `code` (chat_commands_total{cmd,code}), `started` when
    /// its frame arrived (chat_request_duration_seconds{cmd}).
    void answered(std::string_view cmd, int code, clock::time_point started);
    /// A push written, or held for a resume, to a client (chat_pushes_total).
    void pushed() { pushes_.Increment(); }
    /// A client dropped for not reading its frames (chat_slow_clients_dropped_total).
    void slow_client_dropped() { slow_dropped_.Increment(); }
    /// A command refused for going too fast, code 12 (chat_rate_limited_total).
    void rate_limited() { rate_limited_.Increment(); }
    /// A resume of missed deliveries finished (chat_resumes_total).
    void resumed() { resumes_.Increment(); }

private:
    prometheus::Gauge& connections_;
    metrics::command_counters commands_;
    metrics::histograms_by durations_;  // by command, as commands_
    prometheus::Counter& pushes_;
    prometheus::Counter& slow_dropped_;
    prometheus::Counter& rate_limited_;
    prometheus::Counter& resumes_;
};

}  // namespace chat::broker
