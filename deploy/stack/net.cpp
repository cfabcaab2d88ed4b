#include "deploy/stack/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace chat::stack {
namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool connect_loopback(int fd, std::uint16_t port) {
    auto addr = loopback(port);
    return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

bool send_all(int fd, const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads until `buffer` holds at least `size` bytes; false on close, error or deadline.
bool read_at_least(int fd, std::string& buffer, std::size_t size,
                   std::chrono::steady_clock::time_point deadline) {
    char chunk[4096];
    while (buffer.size() < size) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::uint16_t free_port() {
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    auto addr = loopback(0);
    if (::bind(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
    }
    return ntohs(addr.sin_port);
}

std::string percent_encoded(const std::string& text) {
    std::string encoded;
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)) || std::string("/-._~").find(c) != std::string::npos) {
            encoded += c;
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
            encoded += buf;
        }
    }
    return encoded;
}

bool port_accepts(std::uint16_t port) {
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    return sock.fd >= 0 && connect_loopback(sock.fd, port);
}

// Plain sockets rather than Beast: two monitoring endpoints do not justify another
// 30-second Beast translation unit, and HTTP/1.0 needs no chunked decoding.
std::optional<http_response> http_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout) {
    return http_request(port, "GET", target, {}, "", timeout);
}

std::optional<http_response> http_request(std::uint16_t port, const std::string& method, const std::string& target,
                                          const std::vector<std::string>& headers, const std::string& body,
                                          std::chrono::milliseconds timeout) {
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return std::nullopt;
    set_timeouts(sock.fd, timeout);
    if (!connect_loopback(sock.fd, port)) return std::nullopt;

    std::string request = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n";
    for (const auto& header : headers) request += header + "\r\n";
    if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    if (!send_all(sock.fd, request)) return std::nullopt;

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

std::optional<std::string> ws_request(std::uint16_t port, const std::string& frame,
                                      const std::string& reply_cmd,
                                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return std::nullopt;
    set_timeouts(sock.fd, timeout);
    if (!connect_loopback(sock.fd, port)) return std::nullopt;
    const std::string upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
    if (!send_all(sock.fd, upgrade)) return std::nullopt;
    std::string in;
    std::size_t header_end = std::string::npos;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
        if (!read_at_least(sock.fd, in, in.size() + 1, deadline)) return std::nullopt;
    }
    if (in.compare(0, 12, "HTTP/1.1 101") != 0) return std::nullopt;
    in.erase(0, header_end + 4);

    // One masked text frame; the zero mask leaves the payload as it is.
    std::string out(1, '\x81');
    if (frame.size() < 126) {
        out += static_cast<char>(0x80 | frame.size());
    } else {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>((frame.size() >> 8) & 0xff);
        out += static_cast<char>(frame.size() & 0xff);
    }
    out.append(4, '\0');
    out += frame;
    if (!send_all(sock.fd, out)) return std::nullopt;

    while (true) {
        if (!read_at_least(sock.fd, in, 2, deadline)) return std::nullopt;
        const auto opcode = static_cast<unsigned char>(in[0]) & 0x0f;
        std::size_t length = static_cast<unsigned char>(in[1]) & 0x7f;
        std::size_t offset = 2;
        if (length >= 126) {
            const std::size_t bytes = length == 126 ? 2 : 8;
            if (!read_at_least(sock.fd, in, 2 + bytes, deadline)) return std::nullopt;
            length = 0;
            for (std::size_t i = 0; i < bytes; ++i)
                length = (length << 8) | static_cast<unsigned char>(in[2 + i]);
            offset += bytes;
        }
        if (!read_at_least(sock.fd, in, offset + length, deadline)) return std::nullopt;
        std::string payload = in.substr(offset, length);
        in.erase(0, offset + length);
        if (opcode == 0x8) return std::nullopt;  // the broker closed
        if (opcode != 0x1) continue;             // pings and the like
        auto json = nlohmann::json::parse(payload, nullptr, false);
        if (json.is_object() && json.value("cmd", std::string()) == reply_cmd) return payload;
    }
}

}  // namespace chat::stack
