#include "tests/support/diagnostics.hpp"

#include <mutex>

namespace chat::test {
namespace {

std::mutex mutex;
std::function<std::string()> provider;

}  // namespace

void set_failure_context(std::function<std::string()> p) {
    std::lock_guard lock(mutex);
    provider = std::move(p);
}

void clear_failure_context() {
    std::lock_guard lock(mutex);
    provider = nullptr;
}

std::string failure_context() {
    std::function<std::string()> p;
    {
        std::lock_guard lock(mutex);
        p = provider;
    }
    if (!p) return {};
    try {
        return p();
    } catch (...) {
        return "(could not describe the services)";
    }
}

}  // namespace chat::test
