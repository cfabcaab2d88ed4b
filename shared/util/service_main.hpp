#pragma once

#include <cstdio>
#include <exception>
#include <string>

namespace chat::util {

/// The whole main() of a service binary: `NAME --config FILE`, start-up errors printed
/// as one clear line, exit code 1 for a failure and 2 for a usage error.
template <typename Run>
int service_main(int argc, char** argv, const char* name, Run&& run) {
    if (argc != 3 || std::string(argv[1]) != "--config") {
        std::fprintf(stderr, "usage: %s --config FILE\n", name);
        return 2;
    }
    try {
        return run(std::string(argv[2]));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
        return 1;
    }
}

}  // namespace chat::util
