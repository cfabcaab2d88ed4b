#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chat::stack {

/// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a
/// socket bound to port 0, which is then closed. Another process could take it
/// before the caller binds it, so the window is kept short.
std::uint16_t free_port();

/// `text` with every byte but RFC 3986's unreserved characters and '/' as %XX: a path or
/// a value in a URL's query (libpq's parameters, Prometheus's API).
std::string percent_encoded(const std::string& text);

/// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(std::uint16_t port);

struct http_response {
    int status = 0;
    std::string body;
};

/// GET http://127.0.0.1:port<target> over HTTP/1.0; nullopt when nothing answers
/// (connection refused, timeout, garbage). For /healthz and nats-server monitoring.
std::optional<http_response> http_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2));

/// Any request likewise: `headers` as "Name: value" lines, `body` sent with its length.
std::optional<http_response> http_request(std::uint16_t port, const std::string& method, const std::string& target,
                                          const std::vector<std::string>& headers, const std::string& body,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Opens a WebSocket to ws://127.0.0.1:port/ws, sends `frame` (a JSON text) and returns
/// the first text frame whose "cmd" equals `reply_cmd`; nullopt when the upgrade fails,
/// the broker closes or nothing came within `timeout`. Plain sockets: the start-up
/// probe needs one request, not another 30-second Beast translation unit.
std::optional<std::string> ws_request(std::uint16_t port, const std::string& frame,
                                      const std::string& reply_cmd,
                                      std::chrono::milliseconds timeout);

}  // namespace chat::stack
