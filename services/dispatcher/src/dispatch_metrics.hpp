#pragma once

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "shared/metrics/service_metrics.hpp"

namespace chat::dispatcher {

/// What the dispatcher records (docs/operations.md, "Metrics"). Thread-safe.
class dispatch_metrics {
public:
    explicit dispatch_metrics(metrics::service_metrics& metrics);

    /// chat_dispatch_delivery_seconds: from the inbox row's transaction to its push
    /// published (in nats-server's hands).
    void delivered(double seconds) { delivery_.Observe(seconds); }
    /// chat_dispatch_drain_seconds: one drain, read to delete.
    void drained(double seconds) { drain_.Observe(seconds); }
    /// chat_inbox_rows: rows waiting, as of the last count.
    void inbox_rows(long long rows) { inbox_rows_.Set(static_cast<double>(rows)); }

private:
    prometheus::Histogram& delivery_;
    prometheus::Histogram& drain_;
    prometheus::Gauge& inbox_rows_;
};

}  // namespace chat::dispatcher
