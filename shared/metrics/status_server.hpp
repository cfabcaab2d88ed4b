#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "shared/http/http_server.hpp"
#include "shared/metrics/service_metrics.hpp"

namespace chat::metrics {

/// What a readiness check says: empty when ready, otherwise what is missing
/// ("not connected to PostgreSQL").
using readiness_check = std::function<std::string()>;

/// GET (or HEAD) `path`: /metrics (the text format), /healthz (alive: always 200),
/// /readyz (200, or 503 naming what is missing); 404 otherwise, 405 for other methods.
http::response respond_status(std::string_view method, std::string_view path, const service_metrics& metrics,
                              const readiness_check& ready);

/// The status listener of services without one (logic, dispatcher): respond_status() on
/// `address`:`port`. Port 0 binds a free port (port() says which).
class status_server {
public:
    status_server(const std::string& address, unsigned short port, const service_metrics& metrics,
                  readiness_check ready, std::shared_ptr<spdlog::logger> log);

    unsigned short port() const { return server_.port(); }

private:
    readiness_check ready_;
    http::server server_;
};

}  // namespace chat::metrics
