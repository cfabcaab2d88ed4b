#pragma once

#include <filesystem>

#include "bench/ceiling/options.hpp"
#include "bench/ceiling/recording.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// The NATS hops of the recorded messages (see nats_ends.hpp): writes `rec` to
/// `scratch_file`, starts the logic, dispatcher and broker ends as processes of their
/// own, and counts each one's CPU and nats-server's (--nats-pid, /proc) from "go" until
/// every end is done.
probe_run run_nats_probe(const options& o, const recording& rec,
                         const std::filesystem::path& scratch_file);

}  // namespace chat::bench::ceiling
