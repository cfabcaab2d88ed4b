#pragma once

#include <cstdint>
#include <string>

#include "bench/ceiling/recording.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// The dispatcher's drain alone: drainer::drain's own steps but the publishing (read_rows:
/// one drain statement over a drainer's share of the partitions; plan_drain: the push
/// encoding; delete_rows: DELETE of the delivered rows), `drain_batch`
/// rows at a time, the partitions shared among `drainers` as dispatcher_service's workers
/// share them, each share drained again while drains come back full. The pushes go to
/// `out` instead of NATS (the NATS probe publishes them with publish_pushes). Counts this thread's
/// CPU, the drainer's backend and the rest of the PostgreSQL cluster; fails unless it delivered
/// `expected` messages.
probe_run run_drain_probe(const std::string& url, int drain_batch, int drainers,
                          std::uint64_t expected, recording& out);

}  // namespace chat::bench::ceiling
