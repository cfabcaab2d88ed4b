#include "deploy/stack/files.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace chat::stack {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string tail_file(const std::filesystem::path& path, std::size_t lines) {
    std::string text = read_file(path);
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t seen = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++seen == lines) break;
    }
    return text.substr(pos);
}

std::string random_secret() {
    unsigned char bytes[24];
    for (std::size_t got = 0; got < sizeof bytes;) {
        const auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) throw std::runtime_error("getrandom failed");
        got += static_cast<std::size_t>(n);
    }
    constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : bytes) {
        hex += digits[b >> 4];
        hex += digits[b & 0xf];
    }
    return hex;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_private_file(const std::filesystem::path& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    // An older file keeps its mode through O_CREAT: make it private too.
    bool ok = ::fchmod(fd, 0600) == 0;
    for (std::size_t done = 0; ok && done < text.size();) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ::close(fd) == 0 && ok;
    if (!ok) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

void make_private_dir(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
}

temp_dir::temp_dir(const std::string& prefix, bool keepable) : keepable_(keepable) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    path_ = buffer.data();
}

temp_dir::~temp_dir() {
    if (keepable_ && std::getenv("CHAT_TEST_KEEP") != nullptr) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

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

std::filesystem::path postgres_bin_dir() {
    if (const char* dir = std::getenv("PG_BIN"); dir != nullptr && *dir != '\0') return dir;
    for (const char* version : {"15", "16", "17", "14", "13"}) {
        std::filesystem::path dir = std::string("/usr/lib/postgresql/") + version + "/bin";
        if (::access((dir / "initdb").c_str(), X_OK) == 0) return dir;
    }
    return {};
}

}  // namespace chat::stack
