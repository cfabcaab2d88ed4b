#pragma once

#include "bench/ceiling/options.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// The WebSocket frames of a message through Beast (ws_server: one DIALOGUE in, the ack
/// and the partner's push out) with clients on this machine (ws_clients). Counts the
/// server's I/O threads only: the clients stand for the users' browsers.
probe_run run_ws_probe(const options& o);

}  // namespace chat::bench::ceiling
