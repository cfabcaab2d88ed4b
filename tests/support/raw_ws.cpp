#include "tests/support/raw_ws.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace chat::test {

raw_connection::raw_connection(std::uint16_t port)
    : port_(port), fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd_ >= 0) ::close(fd_);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
}

raw_connection::~raw_connection() { ::close(fd_); }

bool raw_connection::send(const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        const auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

const std::string& raw_connection::read_until(const std::function<bool(const std::string&)>& done,
                                              std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && !done(received_)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buffer[4096];
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) {
            closed_ = true;
            break;
        }
        received_.append(buffer, static_cast<std::size_t>(n));
    }
    return received_;
}

const std::string& raw_connection::read_until_closed(std::chrono::milliseconds timeout) {
    return read_until([](const std::string&) { return false; }, timeout);
}

bool raw_connection::upgrade(std::chrono::milliseconds timeout) {
    send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    read_until([](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; },
               timeout);
    const auto end = received_.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const bool ok = received_.rfind("HTTP/1.1 101", 0) == 0;
    received_.erase(0, end + 4);
    return ok;
}

std::string ws_frame(std::uint8_t first, const std::string& payload, bool masked) {
    std::string f(1, static_cast<char>(first));
    const char mask_bit = masked ? '\x80' : '\0';
    if (payload.size() < 126) {
        f += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
    } else {
        f += static_cast<char>(mask_bit | 126);
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xff);
    }
    if (masked) f.append(4, '\0');
    return f + payload;
}

std::optional<int> close_code_in(const std::string& s) {
    for (std::size_t i = 0; i + 2 <= s.size();) {
        const auto opcode = static_cast<unsigned char>(s[i]) & 0x0f;
        std::size_t len = static_cast<unsigned char>(s[i + 1]) & 0x7f, header = 2;
        if (len == 126) {
            if (i + 4 > s.size()) return std::nullopt;
            len =
                (static_cast<unsigned char>(s[i + 2]) << 8) | static_cast<unsigned char>(s[i + 3]);
            header = 4;
        } else if (len == 127) {
            return std::nullopt;  // nothing the broker sends is that long
        }
        if (i + header + len > s.size()) return std::nullopt;
        if (opcode == 8) {
            if (len < 2) return 1005;
            return (static_cast<unsigned char>(s[i + header]) << 8) |
                   static_cast<unsigned char>(s[i + header + 1]);
        }
        i += header + len;
    }
    return std::nullopt;
}

std::optional<int> send_oversized_frame(std::uint16_t port, std::size_t payload_bytes,
                                        std::chrono::milliseconds timeout) {
    try {
        raw_connection c(port);
        if (!c.upgrade(timeout)) return std::nullopt;
        // FIN + text, masked, 64-bit length; a zero mask keeps the payload as written.
        std::string header = {'\x81', '\xff'};
        for (int shift = 56; shift >= 0; shift -= 8)
            header.push_back(static_cast<char>((payload_bytes >> shift) & 0xff));
        header.append(4, '\0');
        if (c.send(header)) {
            const std::string chunk(64 * 1024, 'x');
            for (std::size_t sent = 0; sent < payload_bytes; sent += chunk.size()) {
                if (!c.send(chunk.substr(0, std::min(chunk.size(), payload_bytes - sent)))) break;
            }
        }
        return close_code_in(c.read_until(
            [](const std::string& r) { return close_code_in(r).has_value(); }, timeout));
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

}  // namespace chat::test
