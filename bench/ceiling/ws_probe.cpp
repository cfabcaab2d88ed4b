#include "bench/ceiling/ws_probe.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bench/ceiling/proc_cpu.hpp"
#include "bench/ceiling/ws_clients.hpp"
#include "bench/ceiling/ws_server.hpp"

namespace chat::bench::ceiling {

probe_run run_ws_probe(const options& o) {
    ws_server server(o.ws_threads);
    ws_clients clients(server.port(), o.ws_connections, o.payload);
    server.wait_for_connections(o.ws_connections);

    machine_window window;
    const auto cpu_before = server.cpu_ns();
    // A millisecond per message is a hundred times what it takes: the bound only catches a hang.
    const auto timeout = std::chrono::seconds(std::max<std::uint64_t>(60, o.messages / 1000));
    const auto done = clients.run(o.messages, o.ws_window, timeout);
    const auto cpu = static_cast<double>(server.cpu_ns() - cpu_before);
    if (done.acked != o.messages || done.pushed != o.messages || server.dialogues() != o.messages)
        throw std::runtime_error("the WebSocket probe acked " + std::to_string(done.acked) +
                                 " and pushed " + std::to_string(done.pushed) + " of " +
                                 std::to_string(o.messages) + " messages");

    probe_run run;
    run.probe = "websocket";
    run.messages = done.acked;
    run.wall_seconds = window.seconds();
    run.machine_busy_percent = window.busy_percent();
    run.processes.push_back({"broker (Beast I/O threads)",
                             "the server's " + std::to_string(o.ws_threads) +
                                 " I/O thread(s), /proc/self/task schedstat; clients not counted",
                             cpu});
    run.details = {{"connections", o.ws_connections}, {"window", o.ws_window},
                   {"threads", o.ws_threads},         {"frames_in_per_message", 1},
                   {"frames_out_per_message", 2},     {"client_seconds", done.seconds}};
    return run;
}

}  // namespace chat::bench::ceiling
