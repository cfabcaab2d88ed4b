#pragma once

namespace chat::util {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later; call
/// first thing in main so the signals are only ever taken by wait_for_stop_signal().
void block_stop_signals();

/// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_stop_signal();

}  // namespace chat::util
