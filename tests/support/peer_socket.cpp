#include "tests/support/peer_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace chat::test {
namespace {

// The inode of the socket in /proc/PID/net/tcp (IPv4; the broker listens on 0.0.0.0 or
// 127.0.0.1) whose local and remote ports are these. Lines look like
// "  3: 0100007F:1F90 0100007F:B2C4 01 ... uid timeout inode ...".
std::optional<unsigned long> socket_inode(pid_t pid, std::uint16_t local_port, std::uint16_t peer_port) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
        unsigned long inode = 0;
        if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
            continue;
        const auto port_of = [](const std::string& address) {
            return static_cast<std::uint16_t>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
        };
        if (port_of(local) == local_port && port_of(remote) == peer_port) return inode;
    }
    return std::nullopt;
}

// The process's descriptor number for the socket with this inode.
std::optional<int> descriptor_of(pid_t pid, unsigned long inode) {
    const std::string wanted = "socket:[" + std::to_string(inode) + "]";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        if (std::filesystem::read_symlink(entry.path(), link_ec).string() == wanted)
            return std::stoi(entry.path().filename().string());
    }
    return std::nullopt;
}

}  // namespace

std::optional<bool> peer_socket_nodelay(pid_t pid, std::uint16_t local_port, std::uint16_t peer_port) {
    const auto inode = socket_inode(pid, local_port, peer_port);
    if (!inode) return std::nullopt;
    const auto target = descriptor_of(pid, *inode);
    if (!target) return std::nullopt;
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return std::nullopt;
    const int copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, *target, 0));
    close(pidfd);
    if (copy < 0) return std::nullopt;
    int on = 0;
    socklen_t size = sizeof on;
    const int rc = getsockopt(copy, IPPROTO_TCP, TCP_NODELAY, &on, &size);
    close(copy);
    if (rc != 0) return std::nullopt;
    return on != 0;
}

}  // namespace chat::test
