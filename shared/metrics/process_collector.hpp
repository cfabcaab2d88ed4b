#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string_view>
#include <vector>

namespace chat::metrics {

/// The process's own CPU time and resident memory, read from /proc/self at each scrape:
/// process_cpu_seconds_total and process_resident_memory_bytes, the names the official
/// Prometheus clients use (so dashboards and alerts written for them work here).
class process_collector : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override;
};

/// utime + stime in seconds from the text of /proc/<pid>/stat; negative when unreadable.
double cpu_seconds_from_stat(std::string_view stat, long ticks_per_second);
/// Resident bytes from the text of /proc/<pid>/statm; negative when unreadable.
double resident_bytes_from_statm(std::string_view statm, long page_size);

}  // namespace chat::metrics
