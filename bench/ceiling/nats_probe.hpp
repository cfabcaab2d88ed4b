#pragma once

#include <filesystem>
#include <string>

#include "bench/ceiling/options.hpp"
#include "bench/ceiling/recording.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// What the NATS probe puts before the command and wake-up subjects ("<broker id>."), so
/// a chat system on the same nats-server stays out of it.
std::string subject_prefix(const options& o);

/// The NATS hops of the recorded messages (see nats_ends.hpp): writes `rec` to
/// `scratch_file`, starts the logic, dispatcher and broker ends as processes of their
/// own, and counts each one's CPU and nats-server's (--nats-pid, /proc) from "go" until
/// every end is done.
probe_run run_nats_probe(const options& o, const recording& rec,
                         const std::filesystem::path& scratch_file);

}  // namespace chat::bench::ceiling
