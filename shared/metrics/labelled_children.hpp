#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <array>
#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace chat::metrics {

/// chat_*_commands_total{cmd,code} for a closed set of command names, each child found
/// by index once made: prometheus::Family::Add builds a label map and takes the
/// family's lock on every call, which done per message cost the broker 8 % of its
/// maximum throughput (docs/performance.md). Thread-safe.
class command_counters {
public:
    /// Reply codes 0..k_codes-1 are cached; any other goes through the family each time.
    static constexpr int k_codes = 32;

    command_counters(prometheus::Family<prometheus::Counter>& family, std::vector<std::string> commands);

    /// Counts one answer of commands[command] (command < commands.size()) with `code`.
    void increment(std::size_t command, int code);

private:
    prometheus::Counter& make(std::size_t command, int code);

    prometheus::Family<prometheus::Counter>& family_;
    std::vector<std::string> commands_;
    std::vector<std::array<std::atomic<prometheus::Counter*>, k_codes>> children_;
};

/// One histogram per label value of a closed set (`label`="value"), all made up front.
class histograms_by {
public:
    histograms_by(prometheus::Family<prometheus::Histogram>& family, const std::string& label,
                  const std::vector<std::string>& values, const prometheus::Histogram::BucketBoundaries& buckets);

    prometheus::Histogram& operator[](std::size_t index) { return *children_.at(index); }

private:
    std::vector<prometheus::Histogram*> children_;
};

/// The index of `name` in `names`, or `fallback` when it is not there.
std::size_t index_of(const std::vector<std::string>& names, std::string_view name, std::size_t fallback);

}  // namespace chat::metrics
