#pragma once

#include <cstdint>
#include <string>

#include "bench/ceiling/recording.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// The dispatcher's drain alone: its real drainer (drain SELECT, push encoding, DELETE
/// of the delivered rows) over every partition, `drain_batch` rows at a time, looping on
/// a partition while drains come back full as dispatcher_service does. The pushes go to
/// `out` instead of NATS (the NATS probe publishes them). Counts this thread's CPU, the
/// drainer's backend and the rest of the PostgreSQL cluster; fails unless it delivered
/// `expected` messages.
probe_run run_drain_probe(const std::string& url, int drain_batch, std::uint64_t expected,
                          recording& out);

}  // namespace chat::bench::ceiling
