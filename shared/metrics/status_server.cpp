#include "shared/metrics/status_server.hpp"

namespace chat::metrics {

http::response respond_status(std::string_view method, std::string_view path, const service_metrics& metrics,
                              const readiness_check& ready) {
    const auto query = path.find('?');
    if (query != std::string_view::npos) path = path.substr(0, query);
    if (method != "GET" && method != "HEAD") return {405, "text/plain", "only GET and HEAD\n"};
    if (path == "/metrics") return {200, k_text_format, metrics.render()};
    if (path == "/healthz") return {200, "text/plain", "ok\n"};
    if (path == "/readyz") {
        const auto missing = ready ? ready() : std::string();
        return missing.empty() ? http::response{200, "text/plain", "ok\n"}
                               : http::response{503, "text/plain", missing + "\n"};
    }
    return {404, "text/plain", "not found: /metrics, /healthz or /readyz\n"};
}

status_server::status_server(const std::string& address, unsigned short port, const service_metrics& metrics,
                             readiness_check ready, std::shared_ptr<spdlog::logger> log)
    : ready_(std::move(ready)),
      server_(
          address, port,
          [this, &metrics](const http::request& r) { return respond_status(r.method, r.target, metrics, ready_); },
          std::move(log)) {}

}  // namespace chat::metrics
