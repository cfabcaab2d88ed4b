#include "shared/metrics/process_collector.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace chat::metrics {
namespace {

std::string read_file(const char* path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The whitespace-separated fields of `text` from `first` on.
std::vector<std::string_view> fields(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
        const auto start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
        if (i > start) out.push_back(text.substr(start, i - start));
    }
    return out;
}

bool to_number(std::string_view s, long long& out) {
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && p == end;
}

prometheus::MetricFamily one_value(const char* name, const char* help, prometheus::MetricType type,
                                   double value) {
    prometheus::MetricFamily family{name, help, type, {}};
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    return family;
}

}  // namespace

double cpu_seconds_from_stat(std::string_view stat, long ticks_per_second) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields
    // are counted from the last ')'. utime and stime are fields 14 and 15 (from 1).
    const auto close = stat.rfind(')');
    if (close == std::string_view::npos || ticks_per_second <= 0) return -1;
    const auto rest = fields(stat.substr(close + 1));  // rest[0] is field 3, the state
    long long utime = 0, stime = 0;
    if (rest.size() < 13 || !to_number(rest[11], utime) || !to_number(rest[12], stime)) return -1;
    return static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
}

double resident_bytes_from_statm(std::string_view statm, long page_size) {
    const auto f = fields(statm);  // size resident shared text lib data dt, in pages
    long long pages = 0;
    if (f.size() < 2 || page_size <= 0 || !to_number(f[1], pages)) return -1;
    return static_cast<double>(pages) * static_cast<double>(page_size);
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    const double cpu = cpu_seconds_from_stat(read_file("/proc/self/stat"), sysconf(_SC_CLK_TCK));
    if (cpu >= 0)
        out.push_back(one_value("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                                prometheus::MetricType::Counter, cpu));
    const double rss = resident_bytes_from_statm(read_file("/proc/self/statm"), sysconf(_SC_PAGESIZE));
    if (rss >= 0)
        out.push_back(one_value("process_resident_memory_bytes", "Resident memory size, in bytes.",
                                prometheus::MetricType::Gauge, rss));
    return out;
}

}  // namespace chat::metrics
