#include "shared/util/stop_signal.hpp"

#include <pthread.h>
#include <signal.h>

namespace chat::util {
namespace {

sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void block_stop_signals() {
    const auto set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
    const auto set = stop_set();
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

}  // namespace chat::util
