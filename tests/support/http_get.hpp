#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat::test {

struct http_response {
    int status = 0;
    std::string body;
};

/// GET http://127.0.0.1:port<target> over HTTP/1.0; nullopt when nothing answers
/// (connection refused, timeout, garbage). For /healthz and nats-server monitoring.
std::optional<http_response> http_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace chat::test
