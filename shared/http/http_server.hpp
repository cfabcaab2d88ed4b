#pragma once

#include <spdlog/logger.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::http {

/// What a handler sees of a request.
struct request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query, as sent
    std::string authorization;
    std::string body;
};

/// What a handler answers.
struct response {
    response() = default;
    response(int code, std::string type, std::string text, std::string caching = "no-store")
        : status(code), content_type(std::move(type)), body(std::move(text)), cache_control(std::move(caching)) {}

    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::string cache_control = "no-store";
    std::vector<std::pair<std::string, std::string>> headers;  // any others
};

using handler = std::function<response(const request&)>;

/// A small HTTP/1.1 listener for what is not the broker's public port (status, admin):
/// one thread calls `handle` for one request at a time, one request per connection. A
/// body over `max_body` bytes is answered 413 without calling `handle`; HEAD gets the
/// GET answer without its body. Port 0 binds a free port (port() says which).
class server {
public:
    server(const std::string& address, unsigned short port, handler handle, std::shared_ptr<spdlog::logger> log,
           std::size_t max_body = 16 * 1024);
    ~server();  // stops accepting and joins the thread
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    unsigned short port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The path of a request target, without its query (or fragment).
std::string_view path_of(std::string_view target);

/// The value of `name` in the target's query ("?state=open&x=1"), "" when absent. No
/// percent-decoding: the callers' values are plain words.
std::string query_value(const std::string& target, const std::string& name);

}  // namespace chat::http
