#include "bench/ceiling/drain_probe.hpp"

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>

#include "bench/ceiling/postgres_meter.hpp"
#include "bench/ceiling/proc_cpu.hpp"
#include "services/dispatcher/src/drainer.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::bench::ceiling {
probe_run run_drain_probe(const std::string& url, int drain_batch, int drainers,
                          std::uint64_t expected, recording& out) {
    auto conn = std::make_unique<pqxx::connection>(url);
    const pid_t backend = backend_pid(*conn);
    // A second connection only to list the other clients' backends before the window.
    pqxx::connection watcher(url);
    postgres_meter pg({backend});
    dispatcher::drainer drainer(std::move(conn), drain_batch);

    std::uint64_t rows = 0, drains = 0;
    machine_window window;
    pg.start(watcher);
    const auto cpu_before = this_thread_cpu_ns();
    // dispatcher_service's drainers share the partitions (about partitions / drainers each,
    // as rebalance hands them out), and with a backlog every commit wakes all of them: each
    // drainer drains its whole share in one statement, again while drains come back full.
    const int share = (drainer.partitions() + drainers - 1) / drainers;
    for (int first = 0; first < drainer.partitions(); first += share) {
        std::set<int> owned;
        for (int p = first; p < std::min(first + share, drainer.partitions()); ++p) owned.insert(p);
        std::size_t got = 0;
        do {
            // drainer::drain's steps but its publish_pushes (the NATS probe's dispatcher end
            // publishes these pushes through it): the pushes are kept instead.
            auto plan = dispatcher::plan_drain(drainer.read_rows(owned));
            got = plan.handled.size();
            if (got == 0) break;
            if (!plan.pushes.empty()) out.drains.push_back(std::move(plan.pushes));
            drainer.delete_rows(plan.handled);
            rows += got;
            ++drains;
        } while (got == static_cast<std::size_t>(drain_batch));
    }
    const double thread_ns = static_cast<double>(this_thread_cpu_ns() - cpu_before);
    const auto used = pg.stop();

    if (rows != expected)
        throw std::runtime_error("the drain delivered " + std::to_string(rows) +
                                 " inbox rows, not the " + std::to_string(expected) +
                                 " messages stored");
    proto::Push push;
    std::size_t pushes = 0, push_bytes = 0;
    for (const auto& drain : out.drains)
        for (const auto& p : drain) {
            if (push.ParseFromString(p.payload))
                out.deliveries += static_cast<std::uint64_t>(push.deliveries_size());
            ++pushes;
            push_bytes += p.payload.size();
        }

    probe_run run;
    run.probe = "drain";
    run.messages = rows;
    run.wall_seconds = window.seconds();
    run.machine_busy_percent = window.busy_percent();
    run.processes.push_back(
        {"dispatcher (drainer::drain)", "this thread (RUSAGE_THREAD)", thread_ns});
    for (auto& c : pg.costs(used)) run.processes.push_back(std::move(c));
    run.details = {
        {"drains", drains},
        {"partitions", drainer.partitions()},
        {"rows_per_drain", drains ? static_cast<double>(rows) / static_cast<double>(drains) : 0.0},
        {"pushes", pushes},
        {"push_bytes_mean",
         pushes ? static_cast<double>(push_bytes) / static_cast<double>(pushes) : 0.0},
        {"deliveries", out.deliveries},
        {"other_clients_backends_ms", used.excluded_ns / 1e6}};
    return run;
}

}  // namespace chat::bench::ceiling
