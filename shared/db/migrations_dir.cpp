#include "shared/db/migrations_dir.hpp"

#include <system_error>

namespace chat::db {

std::filesystem::path default_migrations_dir(const std::filesystem::path& executable) {
    // CHAT_MIGRATIONS_FROM_BINDIR (shared/CMakeLists.txt) is the install layout's path from
    // bin/ to the migrations, relative, so the package works wherever it is unpacked.
    if (!executable.empty()) {
        const auto installed = (executable.parent_path() / CHAT_MIGRATIONS_FROM_BINDIR).lexically_normal();
        std::error_code ec;
        if (std::filesystem::is_directory(installed, ec)) return installed;
    }
    return "migrations";
}

std::filesystem::path own_executable() {
    std::error_code ec;
    auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : path;
}

}  // namespace chat::db
