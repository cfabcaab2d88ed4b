#include "bench/ceiling/store_probe.hpp"

#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>

#include "bench/ceiling/postgres_meter.hpp"
#include "bench/ceiling/proc_cpu.hpp"
#include "services/logic/src/command_handler.hpp"
#include "services/logic/src/store.hpp"

namespace chat::bench::ceiling {

probe_run run_store_probe(const std::string& url, request_source& source, std::size_t messages,
                          int batch, recording& out) {
    logic::store db(std::make_unique<pqxx::connection>(url));
    logic::command_handler handler(db);
    const auto commit_mode =
        pqxx::nontransaction(db.connection()).exec1("SHOW synchronous_commit")[0].as<std::string>();
    if (commit_mode == "off")
        throw std::runtime_error(
            "synchronous_commit is off on this server: the store probe measures durable commits");

    postgres_meter pg({backend_pid(db.connection())});
    std::uint64_t stored = 0, transactions = 0, refused = 0;
    double thread_ns = 0;
    std::vector<proto::Request> requests;
    std::vector<const proto::Request*> pointers;

    machine_window window;
    pg.start(db.connection());
    while (stored < messages) {
        // One transaction's worth, grouped like command_scheduler::next.
        requests.clear();
        std::size_t items = 0;
        while (stored + items < messages) {
            const auto next =
                std::min<std::size_t>(source.items_per_request(), messages - stored - items);
            if (items > 0 && items + next > static_cast<std::size_t>(batch)) break;
            requests.push_back(source.next(static_cast<int>(next)));
            items += next;
        }
        pointers.clear();
        for (const auto& r : requests) pointers.push_back(&r);

        logic::side_effects effects;
        const auto cpu_before = this_thread_cpu_ns();
        const auto replies = handler.handle_dialogues(pointers, effects);
        thread_ns += static_cast<double>(this_thread_cpu_ns() - cpu_before);

        for (std::size_t i = 0; i < requests.size(); ++i) {
            for (const auto& result : replies[i].dialogue().results())
                refused += result.code() != 0;
            out.requests.push_back(requests[i].SerializeAsString());
            out.replies.push_back(replies[i].SerializeAsString());
        }
        proto::Wake wake;
        for (int p : effects.woken) wake.add_partitions(p);
        out.wakes.push_back(wake.SerializeAsString());
        out.wake_after.push_back(out.requests.size());
        stored += items;
        ++transactions;
    }
    const auto used = pg.stop();

    if (refused > 0)
        throw std::runtime_error("logic refused " + std::to_string(refused) +
                                 " of the probe's messages");
    probe_run run;
    run.probe = "store";
    run.messages = stored;
    run.wall_seconds = window.seconds();
    run.machine_busy_percent = window.busy_percent();
    run.processes.push_back({"logic (handle_dialogues, store_dialogues)",
                             "this thread inside handle_dialogues (RUSAGE_THREAD)", thread_ns});
    for (auto& c : pg.costs(used)) run.processes.push_back(std::move(c));
    run.details = {{"transactions", transactions},
                   {"messages_per_transaction",
                    static_cast<double>(stored) / static_cast<double>(transactions)},
                   {"requests", out.requests.size()},
                   {"synchronous_commit", commit_mode},
                   {"other_clients_backends_ms", used.excluded_ns / 1e6}};
    return run;
}

}  // namespace chat::bench::ceiling
