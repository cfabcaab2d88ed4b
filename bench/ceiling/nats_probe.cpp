#include "bench/ceiling/nats_probe.hpp"

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "bench/ceiling/child.hpp"
#include "bench/ceiling/proc_cpu.hpp"

namespace chat::bench::ceiling {
namespace {

constexpr auto k_ready_timeout = std::chrono::seconds(60);
constexpr auto k_done_timeout = std::chrono::seconds(900);

struct end {
    const char* role;
    const char* process;
    const char* counted;
};

// Started in this order (the subscribers first), told to go in this order.
constexpr std::array<end, 3> k_ends{{
    {"logic", "logic (NATS: request in, reply and wake-up out)",
     "its own process, every thread (RUSAGE_SELF)"},
    {"dispatcher", "dispatcher (NATS: pushes out, wake-ups in)",
     "its own process, every thread (RUSAGE_SELF)"},
    {"broker", "broker (NATS: request out, reply and pushes in)",
     "its own process, every thread (RUSAGE_SELF)"},
}};

}  // namespace

std::string subject_prefix(const options& o) { return o.broker_id + "."; }

probe_run run_nats_probe(const options& o, const recording& rec,
                         const std::filesystem::path& scratch_file) {
    write_recording(rec, scratch_file);
    std::vector<std::unique_ptr<child>> children;
    for (const auto& e : k_ends)
        children.push_back(std::make_unique<child>(std::vector<std::string>{
            "nats-end", e.role, "--nats-url", o.nats_url, "--recording", scratch_file.string(),
            "--broker-id", o.broker_id, "--subject-prefix", subject_prefix(o), "--window",
            std::to_string(o.nats_window)}));
    for (std::size_t i = 0; i < children.size(); ++i)
        if (const auto line = children[i]->read_line(k_ready_timeout); line != "ready")
            throw std::runtime_error(std::string("the NATS probe's ") + k_ends[i].role +
                                     " end said: " + line);

    const auto nats_before = process_cpu_ns(o.nats_pid);
    if (!nats_before)
        throw std::runtime_error("no process " + std::to_string(o.nats_pid) + " (--nats-pid)");
    machine_window window;
    for (auto& c : children) c->send_line("go");
    std::vector<nlohmann::json> reports;
    for (std::size_t i = 0; i < children.size(); ++i) {
        const auto line = children[i]->read_line(k_done_timeout);
        if (line.rfind("done ", 0) != 0)
            throw std::runtime_error(std::string("the NATS probe's ") + k_ends[i].role +
                                     " end said: " + line);
        reports.push_back(nlohmann::json::parse(line.substr(5)));
        if (const auto error = reports.back().value("error", std::string()); !error.empty())
            throw std::runtime_error(std::string("the NATS probe's ") + k_ends[i].role +
                                     " end failed: " + error);
    }
    const auto nats_after = process_cpu_ns(o.nats_pid);
    const double seconds = window.seconds();
    const double busy = window.busy_percent();
    for (auto& c : children) c->send_line("stop");
    for (std::size_t i = 0; i < children.size(); ++i)
        if (const int status = children[i]->wait(); status != 0)
            throw std::runtime_error(std::string("the NATS probe's ") + k_ends[i].role +
                                     " end exited with " + std::to_string(status));
    if (!nats_after)
        throw std::runtime_error("nats-server (pid " + std::to_string(o.nats_pid) + ") went away");

    probe_run run;
    run.probe = "nats";
    run.messages = rec.messages();
    run.wall_seconds = seconds;
    run.machine_busy_percent = busy;
    for (std::size_t i = 0; i < k_ends.size(); ++i)
        run.processes.push_back(
            {k_ends[i].process, k_ends[i].counted, reports[i].at("cpu_ns").get<double>()});
    run.processes.push_back(
        {"nats-server", "pid " + std::to_string(o.nats_pid) + ", /proc schedstat of its threads",
         static_cast<double>(*nats_after - *nats_before)});
    std::size_t pushes = 0, push_bytes = 0, request_bytes = 0, reply_bytes = 0;
    for (const auto& drain : rec.drains)
        for (const auto& p : drain) {
            ++pushes;
            push_bytes += p.payload.size();
        }
    for (const auto& r : rec.requests) request_bytes += r.size();
    for (const auto& r : rec.replies) reply_bytes += r.size();
    auto mean = [](std::size_t total, std::size_t n) {
        return n ? static_cast<double>(total) / static_cast<double>(n) : 0.0;
    };
    run.details = {{"requests", rec.requests.size()},
                   {"request_bytes_mean", mean(request_bytes, rec.requests.size())},
                   {"reply_bytes_mean", mean(reply_bytes, rec.replies.size())},
                   {"wakes", rec.wakes.size()},
                   {"drains", rec.drains.size()},
                   {"pushes", pushes},
                   {"push_bytes_mean", mean(push_bytes, pushes)},
                   {"deliveries", rec.deliveries},
                   {"window", o.nats_window},
                   {"subject_prefix", subject_prefix(o)},
                   {"end_seconds",
                    {{"logic", reports[0].at("seconds")},
                     {"dispatcher", reports[1].at("seconds")},
                     {"broker", reports[2].at("seconds")}}}};
    return run;
}

}  // namespace chat::bench::ceiling
