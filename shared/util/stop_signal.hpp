#pragma once

#include <spdlog/logger.h>

#include <string_view>

namespace chat::util {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later; call
/// first thing in main so the signals are only ever taken by wait_for_stop_signal().
void block_stop_signals();

/// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_stop_signal();

/// The life of a service that works on threads of its own (logic, the dispatcher): blocks
/// the stop signals before `start()` makes any thread, waits for SIGINT or SIGTERM, logs
/// what it finishes (`finishing`), stops the service and returns the exit code. `start()`
/// returns the service's owner (whose stop() finishes the work under way) and its logger.
template <typename Start>
int serve_until_stopped(std::string_view finishing, Start&& start) {
    block_stop_signals();
    auto [service, log] = start();
    const int sig = wait_for_stop_signal();
    log->info("signal {}: {}", sig, finishing);
    service->stop();
    return 0;
}

}  // namespace chat::util
