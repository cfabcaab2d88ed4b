#include "support/http_get.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace chat::test {
namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

// Plain sockets rather than Beast: two monitoring endpoints do not justify another
// 30-second Beast translation unit, and HTTP/1.0 needs no chunked decoding.
std::optional<http_response> http_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout) {
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return std::nullopt;
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::nullopt;

    std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n\r\n";
    if (::send(sock.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return std::nullopt;
    }

    std::string raw;
    std::optional<std::size_t> header_end;
    std::optional<std::size_t> content_length;
    char buffer[8192];
    while (true) {
        ssize_t n = ::recv(sock.fd, buffer, sizeof buffer, 0);
        if (n < 0) return std::nullopt;  // timeout or error
        if (n == 0) break;
        raw.append(buffer, static_cast<std::size_t>(n));
        if (!header_end) {
            auto pos = raw.find("\r\n\r\n");
            if (pos == std::string::npos) continue;
            header_end = pos + 4;
            std::string headers = raw.substr(0, pos);
            for (auto& c : headers)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto cl = headers.find("\r\ncontent-length:");
            if (cl != std::string::npos) {
                content_length = std::strtoull(headers.c_str() + cl + 17, nullptr, 10);
            }
        }
        // A server that keeps the connection open despite HTTP/1.0 still ends the body.
        if (header_end && content_length && raw.size() >= *header_end + *content_length) break;
    }
    if (!header_end || raw.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    auto space = raw.find(' ');
    if (space == std::string::npos) return std::nullopt;
    http_response response;
    response.status = std::atoi(raw.c_str() + space + 1);
    response.body = raw.substr(*header_end, content_length.value_or(std::string::npos));
    return response;
}

}  // namespace chat::test
