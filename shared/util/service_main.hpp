#pragma once

#include <nats/nats.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "shared/config/yaml_reader.hpp"

namespace chat::util {

/// Reads `--config FILE [--set key.path=value]...` (the arguments after the program or
/// command name); nothing when they do not have that shape.
inline std::optional<config::source> parse_config_args(const std::vector<std::string>& args) {
    if (args.size() < 2 || args[0] != "--config") return std::nullopt;
    config::source from(args[1]);
    for (std::size_t i = 2; i < args.size(); i += 2) {
        if (args[i] != "--set" || i + 1 >= args.size()) return std::nullopt;
        from.overrides.push_back(args[i + 1]);
    }
    return from;
}

/// The whole main() of a service binary: `NAME --config FILE [--set key=value]...`,
/// start-up errors printed as one clear line, exit code 1 for a failure and 2 for a
/// usage error.
template <typename Run>
int service_main(int argc, char** argv, const char* name, Run&& run) {
    const auto config = parse_config_args(std::vector<std::string>(argv + 1, argv + argc));
    if (!config) {
        std::fprintf(stderr, "usage: %s --config FILE [--set key.path=value]...\n", name);
        return 2;
    }
    int code = 1;
    try {
        code = run(*config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
    }
    // cnats' own threads (timers, callbacks) outlive every connection until the library
    // is closed: end them before exit() runs OpenSSL's clean-up under their feet (TLS).
    nats_CloseAndWait(2000);
    return code;
}

}  // namespace chat::util
