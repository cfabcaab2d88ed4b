#include "support/raw_ws.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace chat::test {
namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

std::optional<int> send_oversized_frame(std::uint16_t port, std::size_t payload_bytes,
                                        std::chrono::milliseconds timeout) {
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::nullopt;

    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto read_some = [&](std::string& into) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{sock.fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buffer[4096];
        ssize_t n = ::recv(sock.fd, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        into.append(buffer, static_cast<std::size_t>(n));
        return true;
    };

    std::string handshake =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!send_all(sock.fd, handshake.data(), handshake.size())) return std::nullopt;
    std::string response;
    while (response.find("\r\n\r\n") == std::string::npos) {
        if (!read_some(response)) return std::nullopt;
    }
    if (response.compare(0, 12, "HTTP/1.1 101") != 0) return std::nullopt;
    std::string received = response.substr(response.find("\r\n\r\n") + 4);

    // FIN + text, masked, 64-bit length; a zero mask keeps the payload as written.
    std::string header = {'\x81', '\xff'};
    for (int shift = 56; shift >= 0; shift -= 8)
        header.push_back(static_cast<char>((payload_bytes >> shift) & 0xff));
    header.append(4, '\0');
    if (send_all(sock.fd, header.data(), header.size())) {
        std::vector<char> chunk(64 * 1024, 'x');
        for (std::size_t sent = 0; sent < payload_bytes; sent += chunk.size()) {
            if (!send_all(sock.fd, chunk.data(), std::min(chunk.size(), payload_bytes - sent)))
                break;
        }
    }

    // A close frame: 0x88, a 7-bit length of at least 2, then the code.
    while (true) {
        for (std::size_t i = 0; i + 4 <= received.size(); ++i) {
            if (static_cast<unsigned char>(received[i]) == 0x88 && (received[i + 1] & 0x7f) >= 2) {
                return (static_cast<unsigned char>(received[i + 2]) << 8) |
                       static_cast<unsigned char>(received[i + 3]);
            }
        }
        if (!read_some(received)) return std::nullopt;
    }
}

}  // namespace chat::test
