#pragma once

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "shared/metrics/process_collector.hpp"

namespace chat::metrics {

/// The version every service reports in chat_build_info (CMake's PROJECT_VERSION).
const char* build_version();

/// One service's metrics: a prometheus-cpp registry the service adds its families to,
/// plus chat_build_info{service,version} (always 1) and the process's CPU and memory.
/// Thread-safe: metrics are recorded from any thread, render() from another.
class service_metrics {
public:
    explicit service_metrics(const std::string& service);

    prometheus::Registry& registry() { return *registry_; }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    std::string render() const;

private:
    std::shared_ptr<prometheus::Registry> registry_;
    process_collector process_;
};

/// The Content-Type of render()'s output.
inline constexpr const char* k_text_format = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram buckets for durations, in seconds: 0.5 ms to 10 s.
prometheus::Histogram::BucketBoundaries latency_buckets();

}  // namespace chat::metrics
