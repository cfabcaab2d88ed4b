#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bench/options.hpp"  // usage_error, parse_integer, parse_number
#include "services/dispatcher/src/settings.hpp"
#include "services/logic/src/settings.hpp"

namespace chat::bench::ceiling {

/// chat-ceiling's command line. The defaults that describe the system (batch sizes) are
/// the services' own defaults, read from their settings structs.
struct options {
    std::string pg_url;    // a database of its own (migrated and filled), as a superuser
    std::string nats_url;  // a running nats-server...
    pid_t nats_pid = 0;    // ...and its pid, to read its CPU
    double cores = 0;      // the machine's cores for the ceiling; 0: online CPUs
    std::size_t messages = 200'000;
    std::size_t warmup = 20'000;  // stored and drained first, unmeasured, then ANALYZE
    int batch = logic::logic_settings{}.dialogue_batch_max;  // DIALOGUEs per store transaction
    int drain_batch = dispatcher::dispatcher_settings{}.batch_max;  // inbox rows per drain
    int drainers =
        dispatcher::dispatcher_settings{}.workers;  // the partitions are shared among them
    std::size_t payload = 100;                      // content bytes, as chat-bench's --payload
    std::size_t sessions = 1000;       // sessions (pairs of accounts) the messages go to
    int items_per_request = 1;         // DIALOGUEs per broker → logic request
    std::size_t nats_window = 128;     // requests the broker end keeps in flight
    std::size_t ws_connections = 200;  // WebSocket clients (in pairs)
    std::size_t ws_window = 1;         // DIALOGUEs each client keeps unanswered
    int ws_threads = 2;                // the WebSocket server's I/O threads (the benchmark's broker: broker.threads)
    int runs = 1;                      // every probe this many times; medians reported
    std::vector<std::string> probes{"store", "drain", "nats", "websocket"};  // which to run
    std::string
        broker_id;  // the accounts' broker, in origins and push subjects; "": c + 6 random hex
    std::string migrations;  // default: the source tree's migrations/
    std::string json_path;

    bool runs_probe(const std::string& name) const;
};

/// Parses the command line (argv[0] excluded); throws usage_error with a readable
/// message. Returns nullopt for --help (the caller prints usage_text()).
std::optional<options> parse_options(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace chat::bench::ceiling
