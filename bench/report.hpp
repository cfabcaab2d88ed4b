#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "bench/engine.hpp"
#include "bench/histogram.hpp"
#include "bench/options.hpp"

namespace chat::bench {

/// What a run prints and writes: a table for people, one `chat-bench: key=value ...`
/// line for scripts, every number for --json, and whether the run passed its checks.
struct report_output {
    std::string table;
    std::string line;
    nlohmann::json raw;
    bool passed = true;
};

report_output describe(const options& o, const dialogue_report& r);
report_output describe(const options& o, const match_report& r);
report_output describe(const options& o, const idle_report& r);

/// count, min, mean, p50, p90, p99, p99.9, max (ns) and the non-empty buckets.
nlohmann::json histogram_json(const histogram& h);

}  // namespace chat::bench
