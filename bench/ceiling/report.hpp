#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chat::bench::ceiling {

/// The CPU one process spent on a probe's messages.
struct process_cost {
    std::string process;  // what it stands for: "postgres backend", "nats-server", ...
    std::string counted;  // how it was read, e.g. "this thread (RUSAGE_THREAD)"
    double cpu_ns = 0;
};

/// One run of one probe.
struct probe_run {
    std::string probe;           // store | drain | nats | websocket
    std::uint64_t messages = 0;  // what the CPU is divided by
    double wall_seconds = 0;
    double machine_busy_percent = 0;  // every CPU of the machine, by anyone: how noisy it was
    std::vector<process_cost> processes;
    nlohmann::json details = nlohmann::json::object();  // what else the probe counted
};

/// Microseconds of CPU per message.
double us_per_message(double cpu_ns, std::uint64_t messages);
/// Messages per second `cores` sustain when each costs `sum_us` µs of CPU.
double ceiling_per_second(double cores, double sum_us);
/// The median (the mean of the middle two for an even count); 0 for none.
double median(std::vector<double> values);

/// One (probe, process) line of the table: its µs per message in every run.
struct cost_row {
    std::string probe;
    std::string process;
    std::string counted;
    std::vector<double> us_per_run;
    double median_us = 0;
};

struct summary {
    double cores = 0;
    std::vector<cost_row> rows;       // in the order the probes reported them
    std::vector<double> run_sums_us;  // per run: the sum of all rows
    double sum_us = 0;                // the sum of the rows' medians
    double ceiling = 0;               // msg/s: cores x 1e6 / sum_us
};

/// `runs[r]` holds run r's probes; every run must report the same (probe, process) pairs.
summary summarize(const std::vector<std::vector<probe_run>>& runs, double cores);

/// The table printed at the end; `header` is its first line.
std::string format_table(const summary& s, const std::string& header);

/// Every number: the summary, each run's probes with their details, and `config`.
nlohmann::json to_json(const summary& s, const std::vector<std::vector<probe_run>>& runs,
                       const nlohmann::json& config);

}  // namespace chat::bench::ceiling
