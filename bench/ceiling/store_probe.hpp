#pragma once

#include <cstddef>
#include <string>

#include "bench/ceiling/recording.hpp"
#include "bench/ceiling/report.hpp"
#include "bench/ceiling/workload.hpp"

namespace chat::bench::ceiling {

/// Logic's group commit alone: `messages` DIALOGUEs from `source`, grouped into
/// transactions as command_scheduler::next groups queued requests (whole requests while
/// they fit in `batch` items), each stored by command_handler::handle_dialogues (logic's
/// item checks, then store::store_dialogues) on one connection with logic's session
/// settings, durably committed. Counts this thread's CPU inside those calls, the
/// connection's backend and the rest of the PostgreSQL cluster. The requests, replies
/// and wake-ups go into `out` for the NATS probe.
probe_run run_store_probe(const std::string& url, request_source& source, std::size_t messages,
                          int batch, recording& out);

}  // namespace chat::bench::ceiling
