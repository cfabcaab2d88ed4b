#include "bench/ceiling/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace chat::bench::ceiling {

double us_per_message(double cpu_ns, std::uint64_t messages) {
    return messages == 0 ? 0.0 : cpu_ns / 1000.0 / static_cast<double>(messages);
}

double ceiling_per_second(double cores, double sum_us) {
    return sum_us <= 0 ? 0.0 : cores * 1e6 / sum_us;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

summary summarize(const std::vector<std::vector<probe_run>>& runs, double cores) {
    summary s;
    s.cores = cores;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        std::size_t index = 0;
        double run_sum = 0;
        for (const auto& probe : runs[r]) {
            for (const auto& p : probe.processes) {
                if (r == 0) s.rows.push_back({probe.probe, p.process, p.counted, {}, 0});
                if (index >= s.rows.size() || s.rows[index].probe != probe.probe ||
                    s.rows[index].process != p.process)
                    throw std::logic_error("run " + std::to_string(r + 1) +
                                           " reported other processes than run 1");
                const double us = us_per_message(p.cpu_ns, probe.messages);
                s.rows[index++].us_per_run.push_back(us);
                run_sum += us;
            }
        }
        if (index != s.rows.size())
            throw std::logic_error("run " + std::to_string(r + 1) +
                                   " reported other processes than run 1");
        s.run_sums_us.push_back(run_sum);
    }
    for (auto& row : s.rows) {
        row.median_us = median(row.us_per_run);
        s.sum_us += row.median_us;
    }
    s.ceiling = ceiling_per_second(cores, s.sum_us);
    return s;
}

std::string format_table(const summary& s, const std::string& header) {
    std::string out = header + "\n\n";
    const bool several = s.run_sums_us.size() > 1;
    out += fmt::format("{:<10} {:<50} {:>9}{}\n", "probe", "process (what is counted)", "us/msg",
                       several ? "   each run" : "");
    auto runs_of = [&](const std::vector<double>& values) {
        std::string text;
        if (!several) return text;
        text += "  ";
        for (double v : values) text += fmt::format(" {:>7.2f}", v);
        return text;
    };
    std::string current;
    double probe_sum = 0;
    std::vector<double> probe_runs(s.run_sums_us.size(), 0.0);
    auto close_probe = [&] {
        if (current.empty()) return;
        out += fmt::format("{:<10} {:<50} {:>9.2f}{}\n", "", "= " + current, probe_sum,
                           runs_of(probe_runs));
    };
    for (const auto& row : s.rows) {
        if (row.probe != current) {
            close_probe();
            current = row.probe;
            probe_sum = 0;
            std::fill(probe_runs.begin(), probe_runs.end(), 0.0);
        }
        probe_sum += row.median_us;
        for (std::size_t r = 0; r < row.us_per_run.size() && r < probe_runs.size(); ++r)
            probe_runs[r] += row.us_per_run[r];
        out += fmt::format("{:<10} {:<50} {:>9.2f}{}\n", row.probe, row.process, row.median_us,
                           runs_of(row.us_per_run));
    }
    close_probe();
    out += fmt::format("{:<10} {:<50} {:>9.2f}{}\n", "sum", "every part of one message", s.sum_us,
                       runs_of(s.run_sums_us));
    out += fmt::format("\nceiling = {} cores x 1e6 / {:.2f} us = {:.0f} msg/s\n", s.cores, s.sum_us,
                       s.ceiling);
    if (several) {
        std::string each;
        for (double sum : s.run_sums_us)
            each += fmt::format(" {:.0f}", ceiling_per_second(s.cores, sum));
        out += fmt::format("(the rows are medians of {} runs; each run alone:{} msg/s)\n",
                           s.run_sums_us.size(), each);
    }
    return out;
}

nlohmann::json to_json(const summary& s, const std::vector<std::vector<probe_run>>& runs,
                       const nlohmann::json& config) {
    nlohmann::json out;
    out["config"] = config;
    out["cores"] = s.cores;
    out["sum_us_per_message"] = s.sum_us;
    out["ceiling_messages_per_second"] = s.ceiling;
    out["run_sums_us_per_message"] = s.run_sums_us;
    auto& rows = out["breakdown"] = nlohmann::json::array();
    for (const auto& row : s.rows)
        rows.push_back({{"probe", row.probe},
                        {"process", row.process},
                        {"counted", row.counted},
                        {"us_per_message", row.median_us},
                        {"us_per_message_each_run", row.us_per_run}});
    auto& all = out["runs"] = nlohmann::json::array();
    for (const auto& run : runs) {
        auto probes = nlohmann::json::array();
        for (const auto& p : run) {
            auto processes = nlohmann::json::array();
            for (const auto& c : p.processes)
                processes.push_back({{"process", c.process},
                                     {"counted", c.counted},
                                     {"cpu_ms", c.cpu_ns / 1e6},
                                     {"us_per_message", us_per_message(c.cpu_ns, p.messages)}});
            probes.push_back({{"probe", p.probe},
                              {"messages", p.messages},
                              {"wall_seconds", p.wall_seconds},
                              {"machine_busy_percent", p.machine_busy_percent},
                              {"processes", std::move(processes)},
                              {"details", p.details}});
        }
        all.push_back(std::move(probes));
    }
    return out;
}

}  // namespace chat::bench::ceiling
