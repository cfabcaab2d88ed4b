#pragma once

#include <chrono>
#include <thread>

namespace chat::stack {

using namespace std::chrono_literals;

/// Polls `done` until it returns true or `timeout` passes; returns its last answer.
/// Polling (rather than sleeping a fixed time) keeps fast machines fast and slow
/// machines correct.
template <class Predicate>
bool wait_until(Predicate&& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = 20ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(poll);
    }
}

}  // namespace chat::stack
