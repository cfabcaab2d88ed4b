#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "shared/metrics/service_metrics.hpp"

namespace chat::metrics {

/// What a readiness check says: empty when ready, otherwise what is missing
/// ("not connected to PostgreSQL").
using readiness_check = std::function<std::string()>;

/// An answer of the status endpoints.
struct status_response {
    int status = 200;
    std::string content_type;
    std::string body;
};

/// GET (or HEAD) `path`: /metrics (the text format), /healthz (alive: always 200),
/// /readyz (200, or 503 naming what is missing); 404 otherwise, 405 for other methods.
status_response respond_status(std::string_view method, std::string_view path, const service_metrics& metrics,
                               const readiness_check& ready);

/// A small HTTP/1.1 listener of its own for services without one (logic, dispatcher):
/// serves respond_status() on `address`:`port` from one thread, one request per
/// connection. Port 0 binds a free port (port() says which).
class status_server {
public:
    status_server(const std::string& address, unsigned short port, const service_metrics& metrics,
                  readiness_check ready, std::shared_ptr<spdlog::logger> log);
    ~status_server();  // stops accepting and joins the thread
    status_server(const status_server&) = delete;
    status_server& operator=(const status_server&) = delete;

    unsigned short port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chat::metrics
