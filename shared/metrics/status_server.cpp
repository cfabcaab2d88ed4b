// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "shared/metrics/status_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace chat::metrics {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

status_response respond_status(std::string_view method, std::string_view path, const service_metrics& metrics,
                               const readiness_check& ready) {
    const auto query = path.find('?');
    if (query != std::string_view::npos) path = path.substr(0, query);
    if (method != "GET" && method != "HEAD") return {405, "text/plain", "only GET and HEAD\n"};
    if (path == "/metrics") return {200, k_text_format, metrics.render()};
    if (path == "/healthz") return {200, "text/plain", "ok\n"};
    if (path == "/readyz") {
        const auto missing = ready ? ready() : std::string();
        return missing.empty() ? status_response{200, "text/plain", "ok\n"}
                               : status_response{503, "text/plain", missing + "\n"};
    }
    return {404, "text/plain", "not found: /metrics, /healthz or /readyz\n"};
}

namespace {

// One request, one response, then close: scrapes come every few seconds.
class status_connection : public std::enable_shared_from_this<status_connection> {
public:
    status_connection(tcp::socket socket, const service_metrics& metrics, const readiness_check& ready)
        : stream_(std::move(socket)), metrics_(metrics), ready_(ready) {}

    void run() {
        stream_.expires_after(std::chrono::seconds(10));
        http::async_read(stream_, buffer_, request_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec) return;
        const auto method = request_.method_string();
        const auto target = request_.target();
        const auto answer = respond_status(std::string_view(method.data(), method.size()),
                                           std::string_view(target.data(), target.size()), metrics_, ready_);
        response_.version(request_.version());
        response_.result(static_cast<http::status>(answer.status));
        response_.set(http::field::content_type, answer.content_type);
        response_.set(http::field::cache_control, "no-store");
        response_.keep_alive(false);
        if (request_.method() != http::verb::head) response_.body() = answer.body;
        response_.content_length(answer.body.size());
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    const service_metrics& metrics_;
    const readiness_check& ready_;
};

}  // namespace

struct status_server::impl {
    impl(const std::string& address, unsigned short port, const service_metrics& m, readiness_check r,
         std::shared_ptr<spdlog::logger> l)
        : metrics(m), ready(std::move(r)), log(std::move(l)), acceptor(ioc, {net::ip::make_address(address), port}) {
        accept();
        thread = std::thread([this] { ioc.run(); });
    }

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted) return;
            if (ec) {
                log->warn("status listener: accept failed: {}", ec.message());
            } else {
                std::make_shared<status_connection>(std::move(socket), metrics, ready)->run();
            }
            accept();
        });
    }

    const service_metrics& metrics;
    readiness_check ready;
    std::shared_ptr<spdlog::logger> log;
    net::io_context ioc{1};
    tcp::acceptor acceptor;
    std::thread thread;
};

status_server::status_server(const std::string& address, unsigned short port, const service_metrics& metrics,
                             readiness_check ready, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>(address, port, metrics, std::move(ready), std::move(log))) {}

status_server::~status_server() {
    net::post(impl_->ioc, [this] {
        beast::error_code ignored;
        impl_->acceptor.close(ignored);
    });
    impl_->ioc.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short status_server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace chat::metrics
