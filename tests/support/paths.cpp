#include "support/paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace chat::test {

std::filesystem::path bin_dir() { return CHAT_BIN_DIR; }

std::filesystem::path source_dir() { return CHAT_SOURCE_DIR; }

std::filesystem::path binary(const std::string& name) {
    auto path = bin_dir() / name;
    if (::access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error("service binary " + path.string() +
                                 " is missing: build the project first (cmake --build)");
    }
    return path;
}

std::filesystem::path find_program(const std::string& name) {
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    // Debian puts nats-server in /usr/sbin, which a non-root PATH often lacks.
    dirs += ":/usr/sbin:/usr/local/bin:/usr/bin";
    std::istringstream in(dirs);
    for (std::string dir; std::getline(in, dir, ':');) {
        if (dir.empty()) continue;
        auto candidate = std::filesystem::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

}  // namespace chat::test
